import { BlobType, blobId } from '@coffer/core';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlobReader } from '../src/client/blob-reader.js';
import { Restore } from '../src/restore/restore.js';
import { MemoryVault, backUp, keys } from './memory-vault.js';
import { useTempDir } from './temp-dir.js';

const dir = useTempDir('coffer-restore-requests-');

/** Restores `point` into `target`; returns its stats and warnings. */
async function restore(vault: MemoryVault, point: string, target: string) {
  const warnings: string[] = [];
  const run = new Restore({
    reader: new BlobReader(vault, 'ag_1', keys),
    pointId: point,
    target,
    conflict: 'overwrite',
    onWarning: (w) => warnings.push(`${w.path}: ${w.message}`),
  });
  return { stats: await run.run(), warnings };
}

/** Checks every restored file against the id its content was backed up under. */
async function expectRestored(target: string, fileBlobs: Map<string, string>): Promise<void> {
  for (const [path, id] of fileBlobs) {
    const content = await readFile(join(target, path));
    expect(blobId(keys.idKey, content).toString('hex'), path).toBe(id);
  }
}

describe('Restore', () => {
  it('restores many small directories with a few requests per group of directories, not per directory', async () => {
    const vault = new MemoryVault();
    const { point, fileBlobs } = backUp(vault, 100, 8, 4 * 1024 * 1024);
    const target = join(dir(), 'all');
    const { stats, warnings } = await restore(vault, point, target);
    expect(warnings).toEqual([]);
    expect(stats).toMatchObject({ files: 800, directories: 100 });
    await expectRestored(target, fileBlobs);
    // Per directory (a tree read, a locate, a read of its files) this took over 300 requests;
    // in groups of 32 directories it is three per group plus the point and its root.
    expect(vault.requests).toBeLessThanOrEqual(20);
  });

  it('restores the other directories of a group whose one tree is missing, and names it', async () => {
    const vault = new MemoryVault();
    const { point, fileBlobs } = backUp(vault, 40, 3, 4 * 1024 * 1024);
    const target = join(dir(), 'missing');
    // Trees are written directory by directory, so the eighth is d7's.
    const lostTree = [...vault.index.values()].filter((l) => l.type === BlobType.tree)[7]!;
    vault.index.delete(lostTree.id);
    const { stats, warnings } = await restore(vault, point, target);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/d7: its contents were not restored: blob .* is not stored/);
    expect(stats.files).toBe(117);
    await expectRestored(
      target,
      new Map([...fileBlobs].filter(([path]) => !path.startsWith('/d7/'))),
    );
  });
});
