/**
 * @module commands/restore
 * `coffer restore POINT --target DIR`: restores a point, or parts of it, to a directory.
 */
import { BlobReader, Restore, resolvePoint, type ConflictMode } from '@coffer/agent';
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
    const run = new Restore({
      reader: new BlobReader(session.client, session.sourceAgentId, session.keys),
      pointId: point.id,
      target: options.target,
      ...(options.path.length > 0 ? { paths: options.path } : {}),
      conflict: options.conflict as ConflictMode,
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
    let stats;
    try {
      stats = await run.run();
    } finally {
      progress.stop();
    }
    if (options.json) printJson({ point: point.id, target: options.target, stats, warnings });
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
