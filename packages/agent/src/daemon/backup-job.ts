/**
 * @module daemon/backup-job
 * A backup job on the daemon: reads the item's sealed paths from the vault, backs them up with
 * the stored keys, and reports the job with the point it made.
 */
import type { FinishRequest, Job, ProgressReport } from '@coffer/api';
import { CofferError, openSources, type MasterKeys } from '@coffer/core';
import { join } from 'node:path';
import { Backup, type BackupResult } from '../backup/backup.js';
import type { VaultClient } from '../client/vault-client.js';
import type { DaemonLog } from './log.js';
import { jobWarnings, runAsJob, type JobRun } from './run-as-job.js';
import type { RunMarkers } from './run-markers.js';

/** What a daemon knows to run jobs with. */
export interface JobContext {
  client: VaultClient;
  agentId: string;
  keys: MasterKeys;
  /** The registration's config directory (caches live below it). */
  configDir: string;
  hostname: string;
  username: string;
  program: string;
  log: DaemonLog;
  /** This registration's markers of running backups. */
  markers: RunMarkers;
  /** Progress reports; default 1 s. */
  reportIntervalMs?: number;
}

/** Progress of a backup as a job reports it. */
export function backupProgress(run: Backup | undefined): ProgressReport {
  const p = run?.progress;
  const report: ProgressReport = { bytesDone: p?.bytesDone ?? 0, filesDone: p?.files ?? 0 };
  if (p?.bytesTotal !== undefined) report.bytesTotal = p.bytesTotal;
  if (p?.filesTotal !== undefined) report.filesTotal = p.filesTotal;
  return report;
}

/** The outcome of a finished backup. */
export function backupOutcome(result: BackupResult): FinishRequest {
  return {
    state: result.warnings.length > 0 ? 'warnings' : 'succeeded',
    point: result.point.id,
    warnings: jobWarnings(result.warnings),
    warningCount: result.warnings.length,
  };
}

/** Runs backup job `job` (claimed already); `controller` stops it. */
export async function runBackupJob(
  context: JobContext,
  job: Job,
  controller: AbortController,
): Promise<JobRun<BackupResult>> {
  const { client, log } = context;
  let backup: Backup | undefined;
  const unmark = await context.markers.mark(job.item ?? job.itemId ?? job.id, job.id);
  try {
    return await runAsJob({
      client,
      jobId: job.id,
      what: 'backup',
      controller,
      snapshot: () => backupProgress(backup),
      ...(context.reportIntervalMs ? { intervalMs: context.reportIntervalMs } : {}),
      run: async () => {
        if (!job.itemId) throw new CofferError('BAD_JOB', `backup job ${job.id} names no item`);
        const item = await client.item(job.itemId);
        if (!item.sources) {
          throw new CofferError(
            'NO_SOURCES',
            `item ${item.name} has no paths; run 'coffer protect PATH... --item ${item.name}' on this machine`,
          );
        }
        const sources = openSources(context.keys, item.name, item.sources);
        log.info('backup started', { job: job.id, item: item.name, paths: sources.paths });
        backup = new Backup({
          client,
          agentId: context.agentId,
          keys: context.keys,
          cacheDir: join(context.configDir, 'cache', context.keys.keyringId),
          paths: sources.paths,
          excludes: sources.excludes,
          item: item.name,
          hostname: context.hostname,
          username: context.username,
          program: context.program,
          estimate: true,
          signal: controller.signal,
          onWarning: (w) =>
            log.warn('backup warning', { job: job.id, path: w.path, message: w.message }),
        });
        return backup.run();
      },
      outcome: backupOutcome,
    });
  } finally {
    await unmark();
  }
}
