/**
 * @module commands/job-follow
 * Follows a job until it ends, showing its live progress on stderr, and turns its outcome into
 * the exit status: 0 succeeded, 3 succeeded with warnings, 1 failed or cancelled.
 */
import type { Job } from '@coffer/api';
import type { VaultClient } from '@coffer/agent';
import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT_FAILURE, EXIT_OK, EXIT_WARNINGS } from '../exit.js';
import {
  ProgressReporter,
  count,
  formatBytes,
  formatDuration,
  printJson,
  printLines,
  printWarning,
} from '../output.js';

/** How often a followed job is read again. */
const FOLLOW_INTERVAL_MS = 1000;

/** The exit status of a finished job. */
export function jobExitStatus(job: Job): number {
  if (job.state === 'succeeded') return EXIT_OK;
  if (job.state === 'warnings') return EXIT_WARNINGS;
  return EXIT_FAILURE;
}

/** True once a job can change no more. */
export function jobFinished(job: Job): boolean {
  return ['succeeded', 'warnings', 'failed', 'cancelled'].includes(job.state);
}

/** One line about a finished job. */
export function jobSummary(job: Job): string {
  const took =
    job.startedAt && job.endedAt
      ? ` in ${formatDuration((Date.parse(job.endedAt) - Date.parse(job.startedAt)) / 1000)}`
      : '';
  const what = `${job.kind} job ${job.id}${job.item ? ` of ${job.item}` : ''}`;
  const data = `${count(job.progress.filesDone, 'file')}, ${formatBytes(job.progress.bytesDone)}`;
  switch (job.state) {
    case 'succeeded':
    case 'warnings':
      return `The ${what} ${job.state === 'warnings' ? `succeeded with ${job.warningCount} warning(s)` : 'succeeded'}${took}: ${data}${job.pointId && job.kind === 'backup' ? `, recovery point ${job.pointId}` : ''}.`;
    case 'cancelled':
      return `The ${what} was cancelled${job.error ? `: ${job.error}` : '.'}`;
    case 'failed':
      return `The ${what} failed: ${job.error ?? 'no reason given'}`;
    default:
      return `The ${what} is ${job.state}.`;
  }
}

/** Follows job `jobId` to its end; prints it (JSON, or a summary) and returns the exit status. */
export async function followJob(
  client: VaultClient,
  jobId: string,
  json: boolean | undefined,
): Promise<number> {
  let job = await client.job(jobId);
  let lastState = '';
  const progress = new ProgressReporter(
    job.kind,
    () => ({
      files: job.progress.filesDone,
      filesTotal: job.progress.filesTotal,
      bytesDone: job.progress.bytesDone,
      bytesTotal: job.progress.bytesTotal,
      extra: job.state === 'running' ? `${formatBytes(job.progress.rate)}/s now` : job.state,
    }),
    !json,
  );
  try {
    while (!jobFinished(job)) {
      if (!json && job.state !== lastState) {
        lastState = job.state;
        process.stderr.write(
          job.state === 'queued'
            ? `Job ${job.id} is queued; waiting for agent ${job.agentId ?? ''} to take it…\n`
            : `Job ${job.id} is running on agent ${job.agentId ?? 'the vault'}.\n`,
        );
      }
      await sleep(FOLLOW_INTERVAL_MS);
      job = await client.job(jobId);
    }
  } finally {
    progress.stop();
  }
  if (json) printJson(job);
  else {
    for (const w of job.warnings) printWarning(w.path, w.message);
    printLines(jobSummary(job));
  }
  return jobExitStatus(job);
}
