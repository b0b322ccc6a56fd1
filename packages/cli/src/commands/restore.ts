/**
 * @module commands/restore
 * `coffer restore POINT --target DIR`: restores a point, or parts of it, to a directory, as a
 * manual job of the vault (Ctrl-C cancels it; files written so far stay).
 */
import {
  BlobReader,
  Restore,
  resolvePoint,
  restoreOutcome,
  restoreProgress,
  runAsJob,
  type ConflictMode,
} from '@coffer/agent';
import { resolve } from 'node:path';
import { CofferError } from '@coffer/core';
import { agentSession, type AgentOptions } from '../connect.js';
import { EXIT_WARNINGS } from '../exit.js';
import {
  ProgressReporter,
  count,
  formatBytes,
  printJson,
  printLines,
  printWarning,
} from '../output.js';

export interface RestoreCommandOptions extends AgentOptions {
  item?: string;
  target: string;
  path: string[];
  conflict: string;
  json?: boolean;
}

const MODES = ['overwrite', 'skip', 'keep-both'];

/** Restores a point. */
export async function restore(pointSpec: string, options: RestoreCommandOptions): Promise<number> {
  if (!MODES.includes(options.conflict)) {
    throw new CofferError(
      'USAGE',
      `--conflict ${options.conflict}: use overwrite, skip or keep-both`,
    );
  }
  const session = await agentSession(options);
  try {
    const { points } = await session.client.points(session.sourceAgentId, options.item);
    const point = resolvePoint(points, pointSpec);
    const warnings: { path: string; message: string }[] = [];
    const job = await session.client.startManualJob(session.loaded.state.agentId, {
      kind: 'restore',
      restore: {
        point: point.id,
        target: resolve(options.target),
        conflict: options.conflict as ConflictMode,
        ...(options.path.length > 0 ? { paths: options.path } : {}),
      },
    });
    const controller = new AbortController();
    const run = new Restore({
      reader: new BlobReader(session.client, session.sourceAgentId, session.keys),
      pointId: point.id,
      target: options.target,
      ...(options.path.length > 0 ? { paths: options.path } : {}),
      conflict: options.conflict as ConflictMode,
      signal: controller.signal,
      onWarning: (w) => {
        warnings.push(w);
        if (!options.json) printWarning(w.path, w.message);
      },
    });
    if (options.path.length === 0) run.progress.bytesTotal = point.stats.bytes;
    const progress = new ProgressReporter(
      'restore',
      () => ({
        files: run.progress.files,
        filesTotal: options.path.length === 0 ? point.stats.files : undefined,
        bytesDone: run.progress.bytesDone,
        bytesTotal: run.progress.bytesTotal,
        currentPath: run.progress.currentPath,
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
        what: 'restore',
        controller,
        snapshot: () =>
          restoreProgress(run, options.path.length === 0 ? point.stats.files : undefined),
        run: () => run.run(),
        outcome: (stats) => restoreOutcome(stats, warnings),
      });
    } finally {
      process.off('SIGINT', cancel);
      progress.stop();
    }
    if (tracked.error !== undefined) throw tracked.error;
    const stats = tracked.result!;
    if (options.json)
      printJson({ point: point.id, job: job.id, target: options.target, stats, warnings });
    else
      printLines(
        `Restored ${count(stats.files, 'file')}, ${count(stats.directories, 'directory', 'directories')}, ${count(stats.otherEntries, 'other entry', 'other entries')}, ${formatBytes(stats.bytes)} from ${point.id.slice(0, 12)} to ${options.target}` +
          (stats.skipped > 0 ? ` (${stats.skipped} existing left as they were)` : ''),
      );
    return stats.warnings > 0 ? EXIT_WARNINGS : 0;
  } finally {
    await session.client.close();
  }
}
