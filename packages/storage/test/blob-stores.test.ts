import { mkdtemp, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsBlobStore, MemoryBlobStore } from '../src/index.js';
import { runBlobStoreSuite } from '../src/testing/index.js';

runBlobStoreSuite({ name: 'memory', create: async () => ({ store: new MemoryBlobStore() }) });

runBlobStoreSuite({
  name: 'fs',
  create: async () => {
    const root = await mkdtemp(join(tmpdir(), 'coffer-fs-store-'));
    return {
      store: new FsBlobStore(root),
      cleanup: () => rm(root, { recursive: true, force: true }),
    };
  },
});

describe('FsBlobStore specifics', () => {
  it('leaves no temporary file after a failed put, writes 0600 files, and hides stale temp files', async () => {
    const root = await mkdtemp(join(tmpdir(), 'coffer-fs-store-'));
    try {
      const store = new FsBlobStore(root);
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield Buffer.from('x');
        throw new Error('boom');
      }
      await expect(store.put('a/b', failing())).rejects.toThrow('boom');
      expect(await readdir(join(root, '.tmp'))).toEqual([]);
      await store.put('a/c', Buffer.from('ok'));
      expect((await stat(join(root, 'a/c'))).mode & 0o777).toBe(0o600);
      await mkdir(join(root, '.tmp'), { recursive: true });
      await writeFile(join(root, '.tmp', 'left-by-a-crash.part'), 'half');
      const listed: string[] = [];
      for await (const info of store.list('')) listed.push(info.key);
      expect(listed).toEqual(['a/c']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
