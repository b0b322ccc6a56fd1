/**
 * @module daemon/job-reporter
 * Reports a running job to the vault: its progress about once a second (which is also its
 * heartbeat), and its outcome at the end. The answer to a report carries cancellation; a report
 * that fails is simply sent again next time, so a vault restart does not stop the work.
 */
import type { FinishRequest, Job, ProgressReport } from '@coffer/api';
import { setTimeout as sleep } from 'node:timers/promises';
import { VaultError, type VaultClient } from '../client/vault-client.js';
import { backoffDelay } from './backoff.js';

/** Why the work should stop: someone cancelled the job, or the vault ended it already. */
export type StopReason = 'cancelled' | 'ended';

export interface JobReporterOptions {
  client: Pick<VaultClient, 'reportProgress' | 'finishJob'>;
  jobId: string;
  /** The progress to report now. */
  snapshot(): ProgressReport;
  /** Called once when the work should stop. */
  onStop(reason: StopReason, message: string): void;
  /** Between reports; default 1 s. */
  intervalMs?: number;
  /** How long to keep trying to deliver the outcome; default 2 minutes. */
  finishWithinMs?: number;
}

/** The reports of one running job. */
export class JobReporter {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: JobReporterOptions) {}

  /** Starts reporting progress. */
  start(): void {
    this.timer = setInterval(() => {
      this.inFlight ??= this.report().finally(() => (this.inFlight = undefined));
    }, this.options.intervalMs ?? 1000);
    this.timer.unref();
  }

  private async report(): Promise<void> {
    try {
      const answer = await this.options.client.reportProgress(
        this.options.jobId,
        this.options.snapshot(),
      );
      if (answer.cancel) this.stop('cancelled', `job ${this.options.jobId} was cancelled`);
    } catch (error) {
      if (error instanceof VaultError && (error.status === 409 || error.status === 404)) {
        this.stop('ended', error.message);
      }
      // Otherwise the vault is unreachable for now: the next report tries again.
    }
  }

  private stop(reason: StopReason, message: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.options.onStop(reason, message);
  }

  /** Stops reporting progress and waits for a report in flight. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.inFlight;
  }

  /**
   * Stops reporting and delivers the outcome, retrying while the vault is unreachable.
   * Resolves to the finished job, or undefined when the vault ended the job itself meanwhile.
   */
  async finish(outcome: FinishRequest, abort?: AbortSignal): Promise<Job | undefined> {
    await this.close();
    const deadline = Date.now() + (this.options.finishWithinMs ?? 120_000);
    for (let failures = 1; ; failures++) {
      try {
        return await this.options.client.finishJob(this.options.jobId, outcome);
      } catch (error) {
        if (error instanceof VaultError && error.status === 409) return undefined;
        const transient = (error as { transient?: boolean }).transient === true;
        if (!transient || Date.now() >= deadline || abort?.aborted) throw error;
        await sleep(backoffDelay(failures, { baseMs: 500, maxMs: 10_000 }));
      }
    }
  }
}
