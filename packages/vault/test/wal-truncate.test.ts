import { ROUTES, route } from '@coffer/api';
import {
  BlobType,
  PackWriter,
  blobId,
  encodeManifest,
  encodeTree,
  sealBlob,
  treeRefs,
} from '@coffer/core';
import BetterSqlite3 from 'better-sqlite3';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openMetadataDb, type MetadataDb } from '../src/db/connect.js';
import { walTruncation } from '../src/db/wal-truncate.js';
import { STATS, fileEntry } from './point-fixtures.js';
import { auth, makeVault, registerAgent } from './in-process-vault.js';

describe('WAL task (sqlite)', () => {
  let dir: string;
  let file: string;
  let meta: MetadataDb;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-wal-'));
    file = join(dir, 'metadata.sqlite');
    meta = await openMetadataDb(`sqlite:${file}`);
  });

  afterEach(async () => {
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  });

  const walBytes = async () => (await stat(`${file}-wal`).catch(() => undefined))?.size ?? 0;
  const write = (key: string) =>
    meta.db
      .insertInto('settings')
      .values({ key, value: 'v'.repeat(5000) })
      .execute();

  it('empties the log once a run finds nothing written since the one before, and keeps every commit', async () => {
    const run = walTruncation(meta.db);
    await write('a');
    expect(await walBytes()).toBeGreaterThan(0);
    // The first run only looks; the migrations and the write came before it.
    await run();
    expect(await walBytes()).toBeGreaterThan(0);
    await run();
    expect(await walBytes()).toBe(0);
    // Written to again: not idle at the next run, emptied at the one after.
    await write('b');
    const busy = await walBytes();
    expect(busy).toBeGreaterThan(0);
    await run();
    expect(await walBytes()).toBe(busy);
    await run();
    expect(await walBytes()).toBe(0);
    // Nothing new: nothing to do, and the log file is not made again.
    await run();
    expect(await walBytes()).toBe(0);
    await meta.close();
    meta = await openMetadataDb(`sqlite:${file}`);
    const keys = await meta.db.selectFrom('settings').select('key').orderBy('key').execute();
    expect(keys.map((k) => k.key)).toEqual(expect.arrayContaining(['a', 'b']));
  });

  it('does not wait for a reader in another process, and empties the log once it is gone', async () => {
    const run = walTruncation(meta.db);
    await write('a');
    await run();
    // A reader holding a snapshot (the sqlite3 shell, a copy of the file being taken).
    const reader = new BetterSqlite3(file, { readonly: true });
    try {
      reader.prepare('BEGIN').run();
      reader.prepare('SELECT count(*) FROM settings').get();
      const started = Date.now();
      await run();
      // Not the busy timeout's ten seconds: the vault's thread must not stall on it.
      expect(Date.now() - started).toBeLessThan(1000);
      expect(await walBytes()).toBeGreaterThan(0);
      reader.prepare('COMMIT').run();
    } finally {
      reader.close();
    }
    await run();
    expect(await walBytes()).toBe(0);
  });

  it('is emptied once a backup commits its point', async () => {
    const v = await makeVault({ dbUrl: `sqlite:${join(dir, 'vault.sqlite')}` });
    try {
      const { keys, token } = await registerAgent(v);
      const plain = Buffer.from('a file');
      const id = blobId(keys.idKey, plain);
      const tree = [fileEntry('f', id, plain.length)];
      const treeBytes = encodeTree(tree);
      const treeId = blobId(keys.idKey, treeBytes);
      const manifest = encodeManifest({
        tree: treeId,
        paths: [Buffer.from('/x')],
        hostname: 'h',
        username: 'u',
        startTimeNs: 1n,
        endTimeNs: 2n,
        item: 'i',
        tags: [],
        excludes: [],
        stats: STATS,
        program: 'test',
      });
      const manifestId = blobId(keys.idKey, manifest);
      const writer = new PackWriter();
      const seal = (type: BlobType, blob: Buffer, bytes: Buffer) =>
        sealBlob(keys, type, blob, bytes, { compress: false });
      writer.add(id, BlobType.data, seal(BlobType.data, id, plain));
      writer.add(treeId, BlobType.tree, seal(BlobType.tree, treeId, treeBytes), treeRefs(tree));
      writer.add(manifestId, BlobType.manifest, seal(BlobType.manifest, manifestId, manifest), [
        treeId,
      ]);
      const pack = writer.finish();
      const uploaded = await v.app.inject({
        method: 'PUT',
        url: route(ROUTES.packUpload, { pack: pack.name }),
        headers: { ...auth(token), 'content-type': 'application/octet-stream' },
        payload: Buffer.concat(pack.bytes),
      });
      expect(uploaded.statusCode).toBe(200);
      const wal = `${join(dir, 'vault.sqlite')}-wal`;
      expect((await stat(wal)).size).toBeGreaterThan(0);
      const committed = await v.app.inject({
        method: 'POST',
        url: ROUTES.points,
        headers: auth(token),
        payload: {
          item: 'i',
          manifest: manifestId.toString('hex'),
          hostname: 'h',
          startTime: new Date().toISOString(),
          endTime: new Date().toISOString(),
          stats: STATS,
        },
      });
      expect(committed.statusCode).toBe(201);
      // After the answer: the log may take a moment more.
      for (let i = 0; i < 100 && (await stat(wal)).size > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect((await stat(wal)).size).toBe(0);
    } finally {
      await v.close();
    }
  });
});
