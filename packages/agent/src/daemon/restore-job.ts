/**
 * @module daemon/restore-job
 * A restore job on the daemon: restores the requested point (or paths of it) into the target
 * directory on this machine with the stored keys, and reports what it wrote.
 */
import type { FinishRequest, JobWarning, Job, ProgressReport } from '@coffer/api';
import { CofferError } from '@coffer/core';
import { BlobReader } from '../client/blob-reader.js';
import { Restore, type RestoreStats } from '../restore/restore.js';
import type { JobContext } from './backup-job.js';
import { jobWarnings, runAsJob, type JobRun } from './run-as-job.js';

/** Progress of a restore as a job reports it. */
export function restoreProgress(run: Restore | undefined, filesTotal?: number): ProgressReport {
  const p = run?.progress;
  const report: ProgressReport = { bytesDone: p?.bytesDone ?? 0, filesDone: p?.files ?? 0 };
  if (p?.bytesTotal !== undefined) report.bytesTotal = p.bytesTotal;
  if (filesTotal !== undefined) report.filesTotal = filesTotal;
  return report;
}

/** The outcome of a finished restore, with its counts as the job's result. */
export function restoreOutcome(
  stats: RestoreStats,
  warnings: readonly JobWarning[],
): FinishRequest {
  return {
    state: stats.warnings > 0 ? 'warnings' : 'succeeded',
    warnings: jobWarnings(warnings),
    warningCount: stats.warnings,
    result: { ...stats },
  };
}

/** Runs restore job `job` (claimed already); `controller` stops it. */
export async function runRestoreJob(
  context: JobContext,
  job: Job,
  controller: AbortController,
): Promise<JobRun<RestoreStats>> {
  const { client, log } = context;
  const warnings: JobWarning[] = [];
  let restore: Restore | undefined;
  let filesTotal: number | undefined;
  return runAsJob({
    client,
    jobId: job.id,
    what: 'restore',
    controller,
    snapshot: () => restoreProgress(restore, filesTotal),
    ...(context.reportIntervalMs ? { intervalMs: context.reportIntervalMs } : {}),
    run: async () => {
      const request = job.restore;
      if (!request) throw new CofferError('BAD_JOB', `restore job ${job.id} has no request`);
      log.info('restore started', {
        job: job.id,
        point: request.point,
        target: request.target,
        paths: request.paths ?? [],
      });
      restore = new Restore({
        // The vault allows unattended restores only from this agent's keyring, so its own
        // agent id reads the point's blobs.
        reader: new BlobReader(client, context.agentId, context.keys),
        pointId: request.point,
        target: request.target,
        ...(request.paths && request.paths.length > 0 ? { paths: request.paths } : {}),
        conflict: request.conflict,
        signal: controller.signal,
        onWarning: (w) => {
          warnings.push(w);
          log.warn('restore warning', { job: job.id, path: w.path, message: w.message });
        },
      });
      if (!request.paths || request.paths.length === 0) {
        const { points } = await client.points(context.agentId);
        const point = points.find((p) => p.id === request.point);
        if (point) {
          restore.progress.bytesTotal = point.stats.bytes;
          filesTotal = point.stats.files;
        }
      }
      return restore.run();
    },
    outcome: (stats) => restoreOutcome(stats, warnings),
  });
}
