/**
 * @module daemon/daemon
 * `coffer agent run`: keeps a long poll open to the vault, runs the jobs it is given (scheduled
 * and on-demand backups, restores), and reconnects with capped exponential backoff and jitter
 * whenever the vault or the network goes away. The vault owns the schedule, so a daemon that
 * was down simply finds the one backup queued for each item when it comes back.
 */
import type { Job } from '@coffer/api';
import { CofferError } from '@coffer/core';
import { setTimeout as sleep } from 'node:timers/promises';
import { VaultError } from '../client/vault-client.js';
import { backoffDelay } from './backoff.js';
import { runBackupJob, type JobContext } from './backup-job.js';
import { runRestoreJob } from './restore-job.js';
import type { JobRun } from './run-as-job.js';
import { endStaleRun } from './run-markers.js';

export interface DaemonOptions extends JobContext {
  /** The version reported to the vault. */
  version: string;
  /** Seconds one poll waits for work; default 20. */
  pollWaitSeconds?: number;
  /** Jobs run at once (each on a different item); default 2. */
  maxJobs?: number;
  /** Largest wait between reconnection attempts; default 30 s. */
  maxRetryDelayMs?: number;
}

interface Running {
  /** The item a backup is of (a job id for other kinds): one job per item at once. */
  key: string;
  controller: AbortController;
  done: Promise<void>;
}

/** The agent daemon of one registration. */
export class AgentDaemon {
  private readonly running = new Map<string, Running>();
  /** Ends the current poll early (a job finished: there is room for another). */
  private repoll: (() => void) | undefined;

  constructor(private readonly options: DaemonOptions) {}

  /** Runs until `stop` is aborted; then stops running jobs (they end failed) and returns. */
  async run(stop: AbortSignal): Promise<void> {
    const { client, log } = this.options;
    const wait = this.options.pollWaitSeconds ?? 20;
    const maxJobs = this.options.maxJobs ?? 2;
    let failures = 0;
    log.info('agent daemon started', {
      agent: this.options.agentId,
      version: this.options.version,
    });
    await this.endStaleRuns();
    while (!stop.aborted) {
      const poll = new AbortController();
      const end = (): void => poll.abort();
      this.repoll = end;
      stop.addEventListener('abort', end, { once: true });
      try {
        const want = Math.max(0, maxJobs - this.running.size);
        const work = await client.pollWork(
          { wait, want, version: this.options.version },
          poll.signal,
        );
        if (failures > 0) log.info('connected to the vault again', { after: failures });
        failures = 0;
        for (const job of work.jobs) this.start(job);
      } catch (error) {
        if (poll.signal.aborted) continue;
        failures++;
        const delay = backoffDelay(failures, {
          baseMs: 1000,
          maxMs: this.options.maxRetryDelayMs ?? 30_000,
        });
        const rejected = error instanceof VaultError && error.status === 401;
        log[rejected || failures === 5 ? 'error' : 'warn'](
          rejected ? 'the vault refuses this agent' : 'cannot reach the vault',
          { error: (error as Error).message, attempt: failures, retryInMs: Math.round(delay) },
        );
        await sleep(delay, undefined, { signal: stop }).catch(() => undefined);
      } finally {
        stop.removeEventListener('abort', end);
        this.repoll = undefined;
      }
    }
    log.info('agent daemon stopping', { runningJobs: this.running.size });
    for (const job of this.running.values()) job.controller.abort('stopped');
    await Promise.all([...this.running.values()].map((job) => job.done));
    log.info('agent daemon stopped');
  }

  /** Ends the jobs of backups this machine was running when its process died. */
  private async endStaleRuns(): Promise<void> {
    const { client, log, markers } = this.options;
    for (const marker of await markers.allStale()) {
      await endStaleRun(client, markers, marker).then(
        () => log.warn('ended the job of a backup whose process had died', { ...marker }),
        (error: unknown) =>
          log.warn('could not end the job of a dead backup process; the vault times it out', {
            job: marker.job,
            error: (error as Error).message,
          }),
      );
    }
  }

  private start(job: Job): void {
    const key = job.kind === 'backup' && job.itemId ? job.itemId : job.id;
    if (this.running.has(job.id) || [...this.running.values()].some((r) => r.key === key)) return;
    const controller = new AbortController();
    const done = this.execute(job, controller)
      .catch((error: unknown) =>
        this.options.log.error('job failed unexpectedly', {
          job: job.id,
          error: (error as Error).message,
        }),
      )
      .finally(() => {
        this.running.delete(job.id);
        this.repoll?.();
      });
    this.running.set(job.id, { key, controller, done });
  }

  private async execute(queued: Job, controller: AbortController): Promise<void> {
    const { client, log } = this.options;
    let job: Job;
    try {
      job = await client.claimJob(queued.id);
    } catch (error) {
      // Cancelled or taken meanwhile; a transient failure leaves it queued for the next poll.
      log.warn('could not take a job', { job: queued.id, error: (error as Error).message });
      return;
    }
    log.info('job started', { job: job.id, kind: job.kind, trigger: job.trigger, item: job.item });
    let run: JobRun<unknown>;
    if (job.kind === 'backup') run = await runBackupJob(this.options, job, controller);
    else if (job.kind === 'restore') run = await runRestoreJob(this.options, job, controller);
    else {
      await client.finishJob(job.id, {
        state: 'failed',
        error: `agent version ${this.options.version} cannot run ${job.kind} jobs`,
      });
      return;
    }
    const { outcome } = run;
    const fields = {
      job: job.id,
      kind: job.kind,
      state: outcome.state,
      point: outcome.point,
      bytes: outcome.progress?.bytesDone,
      files: outcome.progress?.filesDone,
      error: outcome.error,
      warnings: outcome.warningCount,
    };
    if (controller.signal.reason === 'ended') {
      log.warn('the vault ended this job while it ran (it may have timed out)', fields);
    } else if (outcome.state === 'failed') log.error('job failed', fields);
    else log.info('job finished', fields);
    if (run.error !== undefined && !(run.error instanceof CofferError)) {
      log.error('job error', { job: job.id, stack: (run.error as Error).stack });
    }
  }
}
