/**
 * @module daemon/run-as-job
 * Runs a backup or restore as a vault job: reports its progress while it runs, stops it when
 * the job is cancelled (or the daemon stops), and delivers its outcome. The daemon and the
 * manual `coffer backup` / `coffer restore` both go through it, so every run is a job.
 */
import type { FinishRequest, Job, JobWarning, ProgressReport } from '@coffer/api';
import { MAX_JOB_WARNINGS } from '@coffer/api/routes';
import { CancelledError } from '../cancelled.js';
import type { VaultClient } from '../client/vault-client.js';
import { JobReporter } from './job-reporter.js';

/** Why a run was aborted: a user cancelled the job, the vault ended it, or the daemon stops. */
export type AbortReason = 'cancelled' | 'ended' | 'stopped';

export interface RunAsJobOptions<R> {
  client: VaultClient;
  jobId: string;
  /** 'backup' or 'restore', for messages. */
  what: string;
  /** Aborted (with an AbortReason) to stop the work; the work must watch its signal. */
  controller: AbortController;
  snapshot(): ProgressReport;
  run(): Promise<R>;
  /** The outcome of a run that ended without throwing. */
  outcome(result: R): FinishRequest;
  /** Progress reports; default 1 s (tests shorten it). */
  intervalMs?: number;
}

export interface JobRun<R> {
  result?: R;
  /** What the run threw, if it did. */
  error?: unknown;
  outcome: FinishRequest;
  /** The finished job; undefined when the vault had ended it already. */
  job?: Job;
}

/** The first warnings of a run as a job keeps them. */
export function jobWarnings(warnings: readonly JobWarning[]): JobWarning[] {
  return warnings.slice(0, MAX_JOB_WARNINGS).map((w) => ({
    path: w.path.slice(0, 4096),
    message: w.message.slice(0, 1024),
  }));
}

function failure(what: string, error: unknown, reason: unknown): FinishRequest {
  if (error instanceof CancelledError) {
    if (reason === 'stopped') {
      return {
        state: 'failed',
        error: `the agent daemon stopped during the ${what}; ${what === 'backup' ? 'no recovery point was made, and the next run reuses what was uploaded' : 'files written so far are in place'}`,
      };
    }
    return {
      state: 'cancelled',
      error:
        what === 'backup'
          ? 'cancelled; no recovery point was made, and the next run reuses what was uploaded'
          : 'cancelled; files written so far are in place',
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { state: 'failed', error: message.slice(0, 4096) };
}

/** Runs `options.run` as job `options.jobId` and delivers its outcome. */
export async function runAsJob<R>(options: RunAsJobOptions<R>): Promise<JobRun<R>> {
  const { controller } = options;
  const reporter = new JobReporter({
    client: options.client,
    jobId: options.jobId,
    snapshot: options.snapshot,
    onStop: (reason) => controller.abort(reason),
    ...(options.intervalMs ? { intervalMs: options.intervalMs } : {}),
  });
  reporter.start();
  const run: JobRun<R> = { outcome: { state: 'failed' } };
  try {
    run.result = await options.run();
    run.outcome = options.outcome(run.result);
  } catch (error) {
    run.error = error;
    run.outcome = failure(options.what, error, controller.signal.reason);
  }
  run.outcome.progress = options.snapshot();
  if (controller.signal.reason === 'ended') {
    await reporter.close();
    return run;
  }
  const job = await reporter.finish(run.outcome);
  if (job) run.job = job;
  return run;
}
