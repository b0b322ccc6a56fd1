import { BlobType, EntryType, blobId, encodeTree, sealBlob, type TreeEntry } from '@coffer/core';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
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

  it('ignores a torn last record and appends after the last whole one', async () => {
    const cache = new TreeCache(join(dir(), 'torn'), keys, undefined);
    const [a, b] = [tree(1), tree(2)];
    await cache.put(a.id.toString('hex'), a.sealed);
    await cache.flush();
    // A run killed in the middle of an append: a header and part of a record.
    appendFileSync(join(dir(), 'torn', 'trees.pack'), Buffer.concat([b.id, Buffer.alloc(4, 0xff)]));
    const next = new TreeCache(join(dir(), 'torn'), keys, undefined);
    expect(await next.load(a.id)).toEqual(a.entries);
    await next.put(b.id.toString('hex'), b.sealed);
    await next.flush();
    const reopened = new TreeCache(join(dir(), 'torn'), keys, undefined);
    expect(await reopened.load(a.id)).toEqual(a.entries);
    expect(await reopened.load(b.id)).toEqual(b.entries);
  });

  it('rewrites a grown file with only the trees the last run used', async () => {
    const path = join(dir(), 'grown');
    const first = new TreeCache(path, keys, undefined);
    // Many trees of about 64 KiB (random names): the file passes the size below which it is left alone.
    const big = (n: number): ReturnType<typeof tree> => {
      const t = tree(n);
      t.entries = Array.from({ length: 300 }, (_, i) => ({
        ...t.entries[0]!,
        name: Buffer.from(`${String(i).padStart(3, '0')}-${randomBytes(90).toString('hex')}`),
      }));
      const bytes = encodeTree(t.entries);
      t.id = blobId(keys.idKey, bytes);
      t.sealed = sealBlob(keys, BlobType.tree, t.id, bytes);
      return t;
    };
    const trees = Array.from({ length: 200 }, (_, n) => big(n));
    for (const t of trees) await first.put(t.id.toString('hex'), t.sealed);
    await first.flush();
    const before = statSync(join(path, 'trees.pack')).size;
    const second = new TreeCache(path, keys, undefined);
    expect(await second.load(trees[3]!.id)).toEqual(trees[3]!.entries);
    const fresh = big(1000);
    await second.put(fresh.id.toString('hex'), fresh.sealed);
    await second.flush();
    expect(statSync(join(path, 'trees.pack')).size).toBeLessThan(before / 10);
    const third = new TreeCache(path, keys, undefined);
    expect(await third.load(trees[3]!.id)).toEqual(trees[3]!.entries);
    expect(await third.load(fresh.id)).toEqual(fresh.entries);
    expect(await third.load(trees[4]!.id)).toEqual([]);
  });

  it('removes the per-tree directories of earlier versions and nothing else', async () => {
    const path = join(dir(), 'trees');
    mkdirSync(join(path, '0a'), { recursive: true });
    writeFileSync(join(path, '0a', 'tree'), 'old');
    mkdirSync(join(path, 'ff'));
    mkdirSync(join(path, 'keep'));
    const cache = new TreeCache(path, keys, undefined);
    const t = tree(1);
    await cache.put(t.id.toString('hex'), t.sealed);
    await cache.flush();
    expect(readdirSync(path).sort()).toEqual(['keep', 'trees.pack']);
  });
});
