import { ROUTES, route } from '@coffer/api';
import {
  BlobType,
  PackWriter,
  blobId,
  encodeManifest,
  encodeTree,
  openBlob,
  parsePack,
  sealBlob,
  treeRefs,
  type FinishedPack,
  type MasterKeys,
} from '@coffer/core';
import { FsBlobStore } from '@coffer/storage';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listPacks, lookup, scanBlobs } from '../src/blob-index/index.js';
import { collectVault, type GcOptions } from '../src/gc/collect.js';
import { gcTask } from '../src/gc/job.js';
import { IdSet } from '../src/gc/id-set.js';
import { indexPendingPacks } from '../src/pack-indexer.js';
import { packKey } from '../src/pack-keys.js';
import { STATS, fileEntry } from './point-fixtures.js';
import { auth, makeVault, registerAgent, type InProcessVault } from './in-process-vault.js';

const HOUR = 3_600_000;
const OPTIONS: GcOptions = {
  graceMs: HOUR,
  repackBelow: 0.5,
  smallPackBytes: 0,
  targetPackBytes: 16 * 1024 * 1024,
};
describe('IdSet', () => {
  it('holds many ids, grows, and tells members from others', () => {
    const set = new IdSet(4);
    const ids = Array.from({ length: 5000 }, (_, i) =>
      blobId(Buffer.alloc(32, 1), Buffer.from(`${i}`)),
    );
    for (const id of ids) expect(set.add(id)).toBe(true);
    for (const id of ids) expect(set.add(id)).toBe(false);
    expect(set.size).toBe(5000);
    for (const id of ids) expect(set.has(id)).toBe(true);
    expect(set.has(Buffer.alloc(32))).toBe(false);
    const other = blobId(Buffer.alloc(32, 2), Buffer.from('0'));
    expect(set.has(other)).toBe(false);
  });
});

describe.each(['sqlite', 'postgres'] as const)('gc (%s)', (dialect) => {
  let v: InProcessVault;
  let dir: string;
  let store: FsBlobStore;
  let keys: MasterKeys;
  let token: string;
  let vaultId: string;
  let keyringId: string;
  let owner: string;
  let n = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-gc-'));
    store = new FsBlobStore(dir);
    v = await makeVault({ dialect, store });
    ({ owner, vaultId, keys, keyringId, token } = await registerAgent(v));
  });

  afterAll(async () => {
    await v?.close();
    await rm(dir, { recursive: true, force: true });
  });

  function pack(blobs: [Buffer, BlobType, Buffer, Buffer[]?][]): FinishedPack {
    const writer = new PackWriter();
    for (const [id, type, plain, refs] of blobs)
      writer.add(id, type, sealBlob(keys, type, id, plain, { compress: false }), refs);
    return writer.finish();
  }

  async function upload(p: FinishedPack): Promise<void> {
    const res = await v.app.inject({
      method: 'PUT',
      url: route(ROUTES.packUpload, { pack: p.name }),
      headers: { ...auth(token), 'content-type': 'application/octet-stream' },
      payload: Buffer.concat(p.bytes),
    });
    expect(res.statusCode).toBe(200);
  }

  const data = (tag: string) => {
    const plain = Buffer.alloc(4096, tag);
    return { plain, id: blobId(keys.idKey, plain) };
  };

  /**
   * Uploads a tree of `files` and a manifest in one pack; returns their ids, the pack's blobs
   * (to store them again) and a commit call.
   */
  async function point(files: { plain: Buffer; id: Buffer }[]) {
    const tree = files.map((f, i) => fileEntry(`f${i}`, f.id, f.plain.length));
    const treeBytes = encodeTree(tree);
    const treeId = blobId(keys.idKey, treeBytes);
    const manifest = encodeManifest({
      tree: treeId,
      paths: [Buffer.from('/x')],
      hostname: 'h',
      username: 'u',
      startTimeNs: BigInt(++n),
      endTimeNs: 2n,
      item: 'i',
      tags: [],
      excludes: [],
      stats: STATS,
      program: 'test',
    });
    const manifestId = blobId(keys.idKey, manifest);
    const parents: [Buffer, BlobType, Buffer, Buffer[]][] = [
      [treeId, BlobType.tree, treeBytes, treeRefs(tree)],
      [manifestId, BlobType.manifest, manifest, [treeId]],
    ];
    await upload(pack(parents));
    const commit = () =>
      v.app.inject({
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
    return { manifestId: manifestId.toString('hex'), treeId, parents, commit };
  }

  const missing = async (ids: Buffer[]) =>
    (
      await v.app.inject({
        method: 'POST',
        url: ROUTES.blobsExist,
        headers: auth(token),
        payload: { ids: ids.map((id) => id.toString('hex')) },
      })
    ).json<{ missing: string[] }>().missing;

  const gc = () => collectVault(v.app.vault, vaultId, OPTIONS);

  /** The index row of blob `id`, once the uploads still pending are indexed. */
  const row = async (id: Buffer) => {
    await indexPendingPacks(v.app.vault, keyringId);
    const [found] = await lookup(v.meta.db, keyringId, [id.toString('hex')]);
    if (!found) throw new Error(`blob ${id.toString('hex')} is not indexed`);
    return found;
  };

  /** Reads every blob row back from its pack and opens it: every point's data is intact. */
  async function everyBlobOpens(): Promise<number> {
    const rows = [];
    for await (const batch of scanBlobs(v.meta.db, keyringId)) rows.push(...batch);
    for (const row of rows) {
      const sealed = await store.getRange(
        packKey(keyringId, row.pack),
        Number(row.offset),
        Number(row.length),
      );
      openBlob(keys, row.type as BlobType, Buffer.from(row.id, 'hex'), sealed);
    }
    return rows.length;
  }

  it('condemns what no point reaches, sweeps it after the grace period, repacks and deletes old packs', async () => {
    const shared = data('s');
    const onlyA = Array.from({ length: 6 }, (_, i) => data(`a${i}`));
    const onlyB = data('b');
    // One data pack mostly of A's blobs: after A goes, it is under half live.
    const dataPack = pack([shared, ...onlyA, onlyB].map((f) => [f.id, BlobType.data, f.plain]));
    await upload(dataPack);
    const a = await point([shared, ...onlyA]);
    const b = await point([shared, onlyB]);
    expect((await a.commit()).statusCode).toBe(201);
    expect((await b.commit()).statusCode).toBe(201);

    // Nothing is garbage while both points exist.
    const first = await gc();
    expect(first.blobsCondemned).toBe(0);
    expect(first.blobsLive).toBe(12);

    // A purge deletes A's row; A's tree, manifest and own data become garbage.
    await v.meta.db.deleteFrom('points').where('id', '=', a.manifestId).execute();
    const condemned = await gc();
    expect(condemned.blobsCondemned).toBe(8);
    expect(condemned.blobsSwept).toBe(0);
    expect(await missing(onlyA.map((f) => f.id))).toHaveLength(6);
    expect(await missing([shared.id, onlyB.id])).toEqual([]);

    // Still inside the grace period: nothing is deleted.
    v.clock.now += HOUR / 2;
    expect((await gc()).blobsSwept).toBe(0);

    v.clock.now += HOUR;
    const swept = await gc();
    expect(swept.blobsSwept).toBe(8);
    expect(swept.packsRepacked).toBe(1);
    expect(swept.packsWritten).toBe(1);
    // A's tree-and-manifest pack was emptied: condemned now, deleted after the grace period.
    expect(swept.packsDeleted).toBe(0);
    const moved = await row(shared.id);
    expect(moved.pack).not.toBe(dataPack.name);
    const newPack = await store.getBuffer(packKey(keyringId, moved.pack));
    const parsed = parsePack(newPack);
    expect(parsed.name).toBe(moved.pack);
    expect(parsed.entries.map((e) => e.id.toString('hex')).sort()).toEqual(
      [shared.id, onlyB.id].map((id) => id.toString('hex')).sort(),
    );
    // The old data pack stays readable during the grace period, for reads in flight.
    expect(await store.head(packKey(keyringId, dataPack.name))).toBeDefined();
    expect(await everyBlobOpens()).toBe(4);

    v.clock.now += 2 * HOUR;
    const deleted = await gc();
    expect(deleted.packsDeleted).toBe(2);
    expect(await store.head(packKey(keyringId, dataPack.name))).toBeUndefined();
    expect(deleted.bytesAfter).toBeLessThan(swept.bytesBefore);
    expect(await everyBlobOpens()).toBe(4);
    // B still commits again (idempotent) and a new point over its tree walks and commits.
    const again = await point([shared, onlyB]);
    expect((await again.commit()).statusCode).toBe(201);
  });

  it('a backup in flight commits a point that needs a blob GC condemned, and the blob lives', async () => {
    const file = data('x');
    await upload(pack([[file.id, BlobType.data, file.plain]]));
    const old = await point([file]);
    expect((await old.commit()).statusCode).toBe(201);
    // The backup in flight was told the blob is stored…
    expect(await missing([file.id])).toEqual([]);
    // …then the only point using it is purged, and GC condemns it.
    await v.meta.db.deleteFrom('points').where('id', '=', old.manifestId).execute();
    expect((await gc()).blobsCondemned).toBeGreaterThanOrEqual(1);
    expect(await missing([file.id])).toEqual([file.id.toString('hex')]);
    // The backup commits within the grace period: the commit revives what it needs.
    const next = await point([file]);
    expect((await next.commit()).statusCode).toBe(201);
    expect((await row(file.id)).condemnedAt).toBeNull();
    expect(await missing([file.id])).toEqual([]);
    v.clock.now += 2 * HOUR;
    await gc();
    v.clock.now += 2 * HOUR;
    await gc();
    expect(await missing([file.id])).toEqual([]);
    expect(await everyBlobOpens()).toBeGreaterThan(0);
  });

  it('a re-upload of a condemned blob moves it to the new pack and revives it', async () => {
    const file = data('r');
    await upload(pack([[file.id, BlobType.data, file.plain]]));
    const old = await point([file]);
    expect((await old.commit()).statusCode).toBe(201);
    await v.meta.db.deleteFrom('points').where('id', '=', old.manifestId).execute();
    await gc();
    expect(await missing([file.id])).toHaveLength(1);
    const again = pack([[file.id, BlobType.data, file.plain]]);
    await upload(again);
    expect(await missing([file.id])).toEqual([]);
    const moved = await row(file.id);
    expect(moved.pack).toBe(again.name);
    expect(moved.condemnedAt).toBeNull();
  });

  /** The pack row of `name`: its condemnation, or undefined once deleted. */
  const packRow = async (name: string) =>
    (await listPacks(v.meta.db, keyringId)).find((p) => p.name === name);

  it('condemns and deletes a pack whose file is gone once no row points into it (its footer unread)', async () => {
    const lost = data('lost');
    const gone = pack([[lost.id, BlobType.data, lost.plain]]);
    await upload(gone);
    await store.delete(packKey(keyringId, gone.name));
    // Unreachable: condemned, then swept; the pack is then empty, but its footer cannot be read
    // to say so, and a pass over the keyring's rows answers instead.
    await gc();
    v.clock.now += 2 * HOUR;
    expect((await gc()).blobsSwept).toBeGreaterThanOrEqual(1);
    expect((await packRow(gone.name))?.condemnedAt).not.toBeNull();
    v.clock.now += 2 * HOUR;
    await gc();
    expect(await packRow(gone.name)).toBeUndefined();
  });

  it('repacks the live blobs of a pack whose footer is damaged, found without the footer', async () => {
    const live = data('L');
    const garbage = Array.from({ length: 4 }, (_, i) => data(`G${i}`));
    const damaged = pack([live, ...garbage].map((f) => [f.id, BlobType.data, f.plain]));
    await upload(damaged);
    const p = await point([live]);
    expect((await p.commit()).statusCode).toBe(201);
    await gc();
    // The footer's last bytes (its hash no longer matches), and the rows of the garbage gone.
    const bytes = Buffer.concat(damaged.bytes);
    bytes[bytes.length - 30] = bytes[bytes.length - 30]! ^ 0xff;
    await store.put(packKey(keyringId, damaged.name), bytes);
    v.clock.now += 2 * HOUR;
    const result = await gc();
    expect(result.blobsSwept).toBeGreaterThanOrEqual(4);
    const moved = await row(live.id);
    expect(moved.pack).not.toBe(damaged.name);
    expect((await packRow(damaged.name))?.condemnedAt).not.toBeNull();
    await everyBlobOpens();
  });

  it('repacks a tree with the refs its old footer lists, so later runs still reach what it refers to', async () => {
    const file = data('R');
    const garbage = Array.from({ length: 4 }, (_, i) => data(`RG${i}`));
    const tree = [fileEntry('f0', file.id, file.plain.length)];
    const treeBytes = encodeTree(tree);
    // The tree's row is indexed here, among garbage; point() stores it again, elsewhere.
    const mixed = pack([
      ...garbage.map((g): [Buffer, BlobType, Buffer] => [g.id, BlobType.data, g.plain]),
      [file.id, BlobType.data, file.plain],
      [blobId(keys.idKey, treeBytes), BlobType.tree, treeBytes, treeRefs(tree)],
    ]);
    await upload(mixed);
    await indexPendingPacks(v.app.vault, keyringId);
    const p = await point([file]);
    expect((await row(p.treeId)).pack).toBe(mixed.name);
    expect((await p.commit()).statusCode).toBe(201);
    await gc();
    v.clock.now += 2 * HOUR;
    expect((await gc()).packsRepacked).toBeGreaterThanOrEqual(1);
    const moved = await row(p.treeId);
    expect(moved.pack).not.toBe(mixed.name);
    // Only the new footer says what the tree refers to now: the file stays reachable.
    v.clock.now += 2 * HOUR;
    await gc();
    v.clock.now += 2 * HOUR;
    await gc();
    expect((await row(file.id)).condemnedAt).toBeNull();
    expect(await missing([file.id, p.treeId])).toEqual([]);
    await everyBlobOpens();
  });

  it("condemns nothing while a live tree's footer cannot be read, names its pack, and runs once it is stored again", async () => {
    const file = data('F');
    await upload(pack([[file.id, BlobType.data, file.plain]]));
    const p = await point([file]);
    expect((await p.commit()).statusCode).toBe(201);
    const orphan = data('orphan');
    await upload(pack([[orphan.id, BlobType.data, orphan.plain]]));
    const treePack = (await row(p.treeId)).pack;
    const key = packKey(keyringId, treePack);
    const bytes = await store.getBuffer(key);
    bytes[bytes.length - 30]! ^= 1;
    await store.put(key, bytes);
    await expect(gc()).rejects.toThrow(`the footer of pack ${treePack} cannot be read (damaged)`);
    expect((await row(orphan.id)).condemnedAt).toBeNull();
    expect((await packRow(treePack))?.state).toBe('damaged');
    // The agent stores the tree and manifest again (the pack is damaged, so their rows move).
    const extra = data('F extra');
    await upload(pack([[extra.id, BlobType.data, extra.plain], ...p.parents]));
    expect((await row(p.treeId)).pack).not.toBe(treePack);
    await gc();
    expect((await row(orphan.id)).condemnedAt).not.toBeNull();
    expect((await row(file.id)).condemnedAt).toBeNull();
  });

  it('runs as a vault job on demand and on its schedule, with bytes and packs in its result', async () => {
    const settings = { ...OPTIONS, intervalMs: 24 * HOUR };
    const ask = () =>
      v.app.inject({
        method: 'POST',
        url: route(ROUTES.vaultGc, { vault: vaultId }),
        headers: auth(owner),
      });
    const first = await ask();
    expect(first.statusCode).toBe(201);
    const { job } = first.json<{ job: { id: string; kind: string; state: string } }>();
    expect(job).toMatchObject({ kind: 'gc', state: 'queued' });
    // A second request finds the queued one.
    const second = await ask();
    expect(second.statusCode).toBe(200);
    expect(second.json<{ alreadyRunning: boolean; job: { id: string } }>()).toMatchObject({
      alreadyRunning: true,
      job: { id: job.id },
    });
    // An agent may not ask for it.
    const byAgent = await v.app.inject({
      method: 'POST',
      url: route(ROUTES.vaultGc, { vault: vaultId }),
      headers: auth(token),
    });
    expect(byAgent.statusCode).toBeGreaterThanOrEqual(400);
    await gcTask(v.app, settings);
    const listed = await v.app.inject({
      method: 'GET',
      url: `${route(ROUTES.vaultJobs, { vault: vaultId })}?kind=gc`,
      headers: auth(owner),
    });
    const jobs = listed.json<{
      jobs: { id: string; state: string; result?: Record<string, number> }[];
    }>().jobs;
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ id: job.id, state: 'succeeded' });
    expect(jobs[0]!.result).toMatchObject({
      packsBefore: expect.any(Number),
      bytesAfter: expect.any(Number),
    });
    expect(jobs[0]!.result!.bytesBefore).toBeGreaterThan(0);
    // The schedule queues the next one a day after the last.
    await gcTask(v.app, settings);
    expect(
      (await v.meta.db.selectFrom('jobs').select('id').where('kind', '=', 'gc').execute()).length,
    ).toBe(1);
    v.clock.now += 24 * HOUR;
    await gcTask(v.app, settings);
    const all = await v.meta.db
      .selectFrom('jobs')
      .select(['trigger', 'state'])
      .where('kind', '=', 'gc')
      .orderBy('created_at')
      .execute();
    expect(all).toEqual([
      { trigger: 'on-demand', state: 'succeeded' },
      { trigger: 'schedule', state: 'succeeded' },
    ]);
  });
});
