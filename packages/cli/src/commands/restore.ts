/**
 * @module commands/restore
 * `coffer restore POINT --target DIR | --original --conflict MODE`: restores a point, or parts
 * of it, to a directory or to where it was backed up from, as a manual job of the vault (Ctrl-C
 * cancels it; files written so far stay).
 */
import {
  BlobReader,
  PointTree,
  Restore,
  restoreOutcome,
  restoreProgress,
  runAsJob,
  type ConflictMode,
} from '@coffer/agent';
import { CofferError } from '@coffer/core';
import { resolve } from 'node:path';
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
import { selectPoint } from '../point-select.js';

export interface RestoreCommandOptions extends AgentOptions {
  item?: string;
  target?: string;
  original?: boolean;
  path: string[];
  conflict?: string;
  specialFiles?: boolean;
  json?: boolean;
}

const MODES = ['overwrite', 'skip', 'keep-both'];

/** Where to restore and how, from the options, or a usage error that says what to add. */
export function restorePlan(options: RestoreCommandOptions): {
  target: string;
  conflict: ConflictMode;
  specialFiles: boolean;
} {
  if (options.original && options.target !== undefined) {
    throw new CofferError(
      'USAGE',
      '--original restores to where the files were backed up from; leave out --target',
    );
  }
  if (!options.original && options.target === undefined) {
    throw new CofferError(
      'USAGE',
      'say where to restore: --target DIR, or --original (in place) with --conflict',
    );
  }
  if (options.original && options.conflict === undefined) {
    throw new CofferError(
      'USAGE',
      '--original needs --conflict overwrite, skip or keep-both: say what happens to files in the way',
    );
  }
  const conflict = options.conflict ?? 'overwrite';
  if (!MODES.includes(conflict)) {
    throw new CofferError('USAGE', `--conflict ${conflict}: use overwrite, skip or keep-both`);
  }
  return {
    target: options.original ? '/' : options.target!,
    conflict: conflict as ConflictMode,
    specialFiles: options.specialFiles ?? options.original === true,
  };
}

/** Restores a point. */
export async function restore(pointSpec: string, options: RestoreCommandOptions): Promise<number> {
  const plan = restorePlan(options);
  const session = await agentSession(options);
  try {
    const point = await selectPoint(session.client, session.sourceAgentId, pointSpec, options.item);
    const reader = new BlobReader(session.client, session.sourceAgentId, session.keys);
    let paths = options.path;
    if (paths.some((p) => !p.startsWith('/'))) {
      const tree = await PointTree.open(reader, point.id);
      paths = await Promise.all(paths.map((p) => tree.resolve(p)));
    }
    const warnings: { path: string; message: string }[] = [];
    const job = await session.client.startManualJob(session.loaded.state.agentId, {
      kind: 'restore',
      restore: {
        point: point.id,
        target: resolve(plan.target),
        conflict: plan.conflict,
        ...(paths.length > 0 ? { paths } : {}),
      },
    });
    const controller = new AbortController();
    const run = new Restore({
      reader,
      pointId: point.id,
      target: plan.target,
      ...(paths.length > 0 ? { paths } : {}),
      conflict: plan.conflict,
      specialFiles: plan.specialFiles,
      keys: session.keys,
      signal: controller.signal,
      onWarning: (w) => {
        warnings.push(w);
        if (!options.json) printWarning(w.path, w.message);
      },
    });
    if (paths.length === 0) run.progress.bytesTotal = point.stats.bytes;
    const progress = new ProgressReporter(
      'restore',
      () => ({
        files: run.progress.files,
        filesTotal: paths.length === 0 ? point.stats.files : undefined,
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
        snapshot: () => restoreProgress(run, paths.length === 0 ? point.stats.files : undefined),
        run: () => run.run(),
        outcome: (stats) => restoreOutcome(stats, warnings),
      });
    } finally {
      process.off('SIGINT', cancel);
      progress.stop();
    }
    if (tracked.error !== undefined) throw tracked.error;
    const stats = tracked.result!;
    if (options.json) printJson({ point, jobId: job.id, target: plan.target, stats, warnings });
    else {
      const where = options.original ? 'their original place' : plan.target;
      const notes = [
        stats.skipped > 0 ? `${stats.skipped} existing left as they were` : '',
        stats.identical > 0 ? `${count(stats.identical, 'file')} already there, unchanged` : '',
      ].filter(Boolean);
      printLines(
        `Restored ${count(stats.files, 'file')}, ${count(stats.directories, 'directory', 'directories')}, ${count(stats.otherEntries, 'other entry', 'other entries')}, ${formatBytes(stats.bytes)} from ${point.id.slice(0, 12)} to ${where}` +
          (notes.length > 0 ? ` (${notes.join('; ')})` : ''),
      );
      if (stats.devicesSkipped > 0 || stats.setIdCleared > 0) {
        printLines(
          `Not restored as recorded: ${count(stats.devicesSkipped, 'device node')} skipped, ${count(stats.setIdCleared, 'file')} without set-uid/set-gid bits (--special-files restores them).`,
        );
      }
    }
    return stats.warnings > 0 ? EXIT_WARNINGS : 0;
  } finally {
    await session.client.close();
  }
}
