/**
 * @module commands/backup
 * `coffer backup PATH...`: backs up files and folders into a new recovery point, as a manual
 * job of the vault (Ctrl-C cancels it: no point is made, what was uploaded is kept).
 */
import {
  Backup,
  RunMarkers,
  backupOutcome,
  backupProgress,
  runAsJob,
  startManualBackup,
} from '@coffer/agent';
import { userInfo, hostname } from 'node:os';
import { join } from 'node:path';
import { agentConnection, unlockKeys, type AgentOptions } from '../connect.js';
import { EXIT_WARNINGS } from '../exit.js';
import {
  ProgressReporter,
  count,
  formatBytes,
  formatDuration,
  printJson,
  printLines,
  printWarning,
} from '../output.js';
import { tuneV8ForBackup } from '../v8-flags.js';
import { PROGRAM } from '../version.js';

export interface BackupCommandOptions extends AgentOptions {
  item: string;
  exclude: string[];
  json?: boolean;
}

/** Runs a backup. */
export async function backup(paths: string[], options: BackupCommandOptions): Promise<number> {
  tuneV8ForBackup();
  const session = await agentConnection({ ...options, agent: undefined });
  const started = Date.now();
  try {
    const agentId = session.loaded.state.agentId;
    // Not awaited here: the job is started, and the backup does what needs no keys, while
    // scrypt runs on the thread pool.
    const keys = unlockKeys(session, options);
    keys.catch(() => undefined);
    const markers = new RunMarkers(session.loaded.dir);
    const job = await startManualBackup(session.client, agentId, markers, options.item);
    const unmark = await markers.mark(options.item, job.id);
    const controller = new AbortController();
    const run = new Backup({
      client: session.client,
      agentId: session.loaded.state.agentId,
      keys,
      cacheDir: join(session.loaded.dir, 'cache', session.loaded.state.keyringId),
      paths,
      item: options.item,
      excludes: options.exclude,
      hostname: hostname(),
      username: userInfo().username,
      program: PROGRAM,
      estimate: !options.json,
      signal: controller.signal,
      ...(options.json ? {} : { onWarning: (w) => printWarning(w.path, w.message) }),
    });
    const progress = new ProgressReporter(
      'backup',
      () => ({
        files: run.progress.files,
        filesTotal: run.progress.filesTotal,
        bytesDone: run.progress.bytesDone,
        bytesTotal: run.progress.bytesTotal,
        currentPath: run.progress.currentPath,
        extra: `new ${formatBytes(run.progress.addedBytes)}`,
      }),
      !options.json,
    );
    const cancel = (): void => controller.abort('cancelled');
    process.once('SIGINT', cancel);
    let tracked;
    try {
      tracked = await runAsJob({
        client: session.client,
        jobId: job.id,
        what: 'backup',
        controller,
        snapshot: () => backupProgress(run),
        run: () => run.run(),
        outcome: backupOutcome,
      });
    } finally {
      process.off('SIGINT', cancel);
      progress.stop();
      await unmark();
    }
    if (tracked.error !== undefined) throw tracked.error;
    const result = tracked.result!;
    const { stats } = result;
    if (options.json) {
      const usage = process.resourceUsage();
      printJson({
        point: result.point,
        job: job.id,
        warnings: result.warnings,
        resources: {
          maxRssBytes: usage.maxRSS * 1024,
          userCpuMs: Math.round(usage.userCPUTime / 1000),
          systemCpuMs: Math.round(usage.systemCPUTime / 1000),
        },
      });
    } else {
      printLines(
        `Files: ${stats.files} (${stats.newFiles} new, ${stats.changedFiles} changed, ${stats.unchangedFiles} unchanged), directories: ${stats.directories}`,
        `Data: ${formatBytes(stats.bytes)} looked at, ${formatBytes(stats.addedBytes)} new, ${formatBytes(stats.storedBytes)} stored in ${formatDuration((Date.now() - started) / 1000)}`,
        ...(stats.warnings > 0
          ? [`Finished with ${count(stats.warnings, 'warning')} (see above).`]
          : []),
        `Recovery point ${result.point.id} (job ${job.id})`,
      );
    }
    return stats.warnings > 0 ? EXIT_WARNINGS : 0;
  } finally {
    await session.client.close();
  }
}
