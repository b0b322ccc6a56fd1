import { BlobType, EntryType, blobId, encodeTree, sealBlob, type TreeEntry } from '@coffer/core';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TreeCache } from '../src/backup/tree-cache.js';
import { useTempDir } from './temp-dir.js';

const keys = { encryptionKey: randomBytes(32), idKey: randomBytes(32) };
const dir = useTempDir('coffer-tree-cache-');

function tree(n: number): { id: Buffer; entries: TreeEntry[]; sealed: Buffer } {
  const entries: TreeEntry[] = [
    {
      name: Buffer.from(`file-${n}`),
      type: EntryType.file,
      mode: 0o644,
      uid: 1000,
      gid: 1000,
      mtimeNs: BigInt(n) * 1_000_000_007n,
      ctimeNs: BigInt(n) * 1_000_000_009n,
      size: 0,
      device: 1,
      inode: n,
      links: 1,
      rdev: 0,
    },
  ];
  const bytes = encodeTree(entries);
  const id = blobId(keys.idKey, bytes);
  return { id, entries, sealed: sealBlob(keys, BlobType.tree, id, bytes) };
}

describe('TreeCache', () => {
  it('keeps every tree put, once flushed, even with more writes than run at once', async () => {
    const cache = new TreeCache(join(dir(), 'trees'), keys, undefined);
    const trees = Array.from({ length: 150 }, (_, n) => tree(n));
    for (const t of trees) await cache.put(t.id.toString('hex'), t.sealed);
    await cache.flush();
    // A fresh cache with no vault to fall back on: every tree must come from disk.
    const reopened = new TreeCache(join(dir(), 'trees'), keys, undefined);
    for (const t of trees) expect(await reopened.load(t.id)).toEqual(t.entries);
  });

  it('ignores a damaged cache file rather than trusting it', async () => {
    const cache = new TreeCache(join(dir(), 'damaged'), keys, undefined);
    const t = tree(7);
    const bad = Buffer.from(t.sealed);
    bad[bad.length - 1]! ^= 1;
    await cache.put(t.id.toString('hex'), bad);
    await cache.flush();
    expect(await cache.load(t.id)).toEqual([]);
  });
});
