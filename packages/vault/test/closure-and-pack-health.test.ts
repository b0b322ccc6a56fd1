import { ROUTES, route } from '@coffer/api';
import {
  BlobType,
  PackWriter,
  blobId,
  encodeManifest,
  encodeTree,
  sealBlob,
  treeRefs,
  type TreeEntry,
  type FinishedPack,
  type MasterKeys,
} from '@coffer/core';
import { FsBlobStore } from '@coffer/storage';
import { mkdtemp, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { condemnBlobs, lookup } from '../src/blob-index/index.js';
import { indexPendingPacks } from '../src/pack-indexer.js';
import { packKey } from '../src/pack-keys.js';
import { STATS, fileEntry } from './point-fixtures.js';
import { auth, makeVault, registerAgent, type InProcessVault } from './in-process-vault.js';

describe.each(['sqlite', 'postgres'] as const)('closure and pack health (%s)', (dialect) => {
  let v: InProcessVault;
  let dir: string;
  let keys: MasterKeys;
  let token: string;
  let agentId: string;
  let keyringId: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-closure-'));
    v = await makeVault({ dialect, store: new FsBlobStore(dir) });
    ({ keys, keyringId, token, agentId } = await registerAgent(v));
  });

  afterAll(async () => {
    await v?.close();
    await rm(dir, { recursive: true, force: true });
  });

  function pack(blobs: [Buffer, BlobType, Buffer, Buffer[]?][]): FinishedPack {
    const writer = new PackWriter();
    for (const [id, type, plain, refs] of blobs)
      writer.add(id, type, sealBlob(keys, type, id, plain), refs);
    return writer.finish();
  }

  function upload(p: FinishedPack) {
    return v.app.inject({
      method: 'PUT',
      url: route(ROUTES.packUpload, { pack: p.name }),
      headers: { ...auth(token), 'content-type': 'application/octet-stream' },
      payload: Buffer.concat(p.bytes),
    });
  }

  /** Uploads a tree of `entries` in a pack of its own; returns its bytes and id. */
  async function uploadTree(entries: TreeEntry[]): Promise<{ bytes: Buffer; id: Buffer }> {
    const bytes = encodeTree(entries);
    const id = blobId(keys.idKey, bytes);
    expect((await upload(pack([[id, BlobType.tree, bytes, treeRefs(entries)]]))).statusCode).toBe(
      200,
    );
    return { bytes, id };
  }

  /** Uploads a manifest of `treeId` (made unique by `n`) and commits it as a point of `tag`. */
  async function commitPoint(tag: string, treeId: Buffer, n: number) {
    const manifest = encodeManifest({
      tree: treeId,
      paths: [Buffer.from('/x')],
      hostname: 'h',
      username: 'u',
      startTimeNs: BigInt(n),
      endTimeNs: 2n,
      item: tag,
      tags: [],
      excludes: [],
      stats: STATS,
      program: 'test',
    });
    const manifestId = blobId(keys.idKey, manifest);
    expect(
      (await upload(pack([[manifestId, BlobType.manifest, manifest, [treeId]]]))).statusCode,
    ).toBe(200);
    return v.app.inject({
      method: 'POST',
      url: ROUTES.points,
      headers: auth(token),
      payload: {
        item: tag,
        manifest: manifestId.toString('hex'),
        hostname: 'h',
        startTime: new Date().toISOString(),
        endTime: new Date().toISOString(),
        stats: STATS,
      },
    });
  }

  /** Data blobs a and b in one pack, a tree of both, and a function that commits a new point. */
  async function pointWithTwoFiles(tag: string) {
    const a = Buffer.from(`${tag} a`);
    const b = Buffer.from(`${tag} b`);
    const aId = blobId(keys.idKey, a);
    const bId = blobId(keys.idKey, b);
    const dataPack = pack([
      [aId, BlobType.data, a],
      [bId, BlobType.data, b],
    ]);
    expect((await upload(dataPack)).statusCode).toBe(200);
    const tree = [fileEntry('a', aId, a.length), fileEntry('b', bId, b.length)];
    const { bytes: treeBytes, id: treeId } = await uploadTree(tree);
    let n = 0;
    const commit = () => commitPoint(tag, treeId, ++n);
    return { a, aId, bId, dataPack, tree, treeBytes, treeId, commit };
  }

  const exists = async (ids: Buffer[]) =>
    (
      await v.app.inject({
        method: 'POST',
        url: ROUTES.blobsExist,
        headers: auth(token),
        payload: { ids: ids.map((id) => id.toString('hex')) },
      })
    ).json<{ missing: string[] }>().missing;

  const packState = async (name: string) =>
    (
      await v.meta.db
        .selectFrom('packs')
        .select('state')
        .where('name', '=', name)
        .executeTakeFirstOrThrow()
    ).state;

  const epoch = async () =>
    (
      await v.meta.db
        .selectFrom('keyrings')
        .select('closure_epoch')
        .where('id', '=', keyringId)
        .executeTakeFirstOrThrow()
    ).closure_epoch;
  /** Indexes the uploads still pending, as a commit or an existence query would. */
  const indexNow = () => indexPendingPacks(v.app.vault, keyringId);
  const closedAt = async (id: Buffer) => {
    await indexNow();
    return (await lookup(v.meta.db, keyringId, [id.toString('hex')]))[0]?.closed;
  };

  it('closes a tree when its pack is indexed, with a subtree packed before it, once all under it is stored', async () => {
    const p = await pointWithTwoFiles('early');
    // The tree's pack came after its files': closed when indexed, before any commit.
    expect(await closedAt(p.treeId)).toBe(await epoch());
    const sub = [fileEntry('a', p.aId, p.a.length)];
    const subBytes = encodeTree(sub);
    const subId = blobId(keys.idKey, subBytes);
    // The vault sees a tree only through its footer refs: any bytes do for its plaintext.
    const topBytes = Buffer.from('a tree whose one entry is the subtree');
    const topId = blobId(keys.idKey, topBytes);
    const both = pack([
      [subId, BlobType.tree, subBytes, treeRefs(sub)],
      [topId, BlobType.tree, topBytes, [subId]],
    ]);
    expect((await upload(both)).statusCode).toBe(200);
    expect(await closedAt(subId)).toBe(await epoch());
    expect(await closedAt(topId)).toBe(await epoch());
    expect((await p.commit()).statusCode).toBe(201);
  });

  it('leaves a tree open when a blob under it is missing or condemned, and the commit still finds and revives it', async () => {
    const gone = Buffer.from('never uploaded');
    const goneId = blobId(keys.idKey, gone);
    const { id: lonelyId } = await uploadTree([fileEntry('gone', goneId, gone.length)]);
    expect(await closedAt(lonelyId)).toBe(0);

    // GC condemns a file after it was indexed and before its tree arrives: the tree is not
    // closed when indexed, so the commit's walk reaches the file and revives it.
    const c = Buffer.from('condemned file');
    const cId = blobId(keys.idKey, c);
    expect((await upload(pack([[cId, BlobType.data, c]]))).statusCode).toBe(200);
    await indexNow();
    await condemnBlobs(v.meta.db, keyringId, [cId.toString('hex')], Date.now());
    const { id: treeId } = await uploadTree([fileEntry('c', cId, c.length)]);
    expect(await closedAt(treeId)).toBe(0);
    const commit = await commitPoint('condemned', treeId, 1);
    expect(commit.statusCode, commit.body).toBe(201);
    const [row] = await lookup(v.meta.db, keyringId, [cId.toString('hex')]);
    expect(row?.condemnedAt).toBeNull();
  });

  it('refuses a point reusing a closed tree once a blob row under it was deleted out of band', async () => {
    const p = await pointWithTwoFiles('row');
    expect((await p.commit()).statusCode).toBe(201);
    // What an operator's sqlite3 or psql would do; the trigger invalidates every closure flag.
    await v.meta.db.deleteFrom('blobs').where('id', '=', p.aId).execute();
    const again = await p.commit();
    expect(again.statusCode).toBe(409);
    expect(again.json<{ error: { missing: string[] } }>().error.missing).toEqual([
      p.aId.toString('hex'),
    ]);
    // Uploading the blob again heals it.
    expect((await upload(pack([[p.aId, BlobType.data, p.a]]))).statusCode).toBe(200);
    expect((await p.commit()).statusCode).toBe(201);
  });

  it('answers "missing" for the blobs of a pack moved away, refuses points on them, and heals on re-upload', async () => {
    const p = await pointWithTwoFiles('moved');
    expect((await p.commit()).statusCode).toBe(201);
    const path = join(dir, packKey(keyringId, p.dataPack.name));
    await rename(path, `${path}.away`);
    expect(await exists([p.aId, p.bId, p.treeId])).toEqual([
      p.aId.toString('hex'),
      p.bId.toString('hex'),
    ]);
    expect(await packState(p.dataPack.name)).toBe('missing');
    expect((await p.commit()).statusCode).toBe(409);
    // A new pack with one of the blobs moves that row; the other stays missing.
    const heal = pack([[p.aId, BlobType.data, p.a]]);
    expect((await upload(heal)).statusCode).toBe(200);
    expect(await exists([p.aId, p.bId])).toEqual([p.bId.toString('hex')]);
    const [row] = await lookup(v.meta.db, keyringId, [p.aId.toString('hex')]);
    expect(row?.pack).toBe(heal.name);
    // The pack file is back: the same pack uploaded again replaces it and it counts again.
    await rename(`${path}.away`, path);
    expect((await upload(p.dataPack)).statusCode).toBe(200);
    expect(await packState(p.dataPack.name)).toBe('ok');
    expect(await exists([p.aId, p.bId])).toEqual([]);
    expect((await p.commit()).statusCode).toBe(201);
  });

  it('refuses a commit when a pack under a closed tree vanished before anyone asked', async () => {
    const p = await pointWithTwoFiles('silent');
    expect((await p.commit()).statusCode).toBe(201);
    const path = join(dir, packKey(keyringId, p.dataPack.name));
    await rm(path);
    // Nothing told the vault: the commit's own walk must notice, though the tree was closed.
    await v.meta.db
      .updateTable('keyrings')
      .set((eb) => ({ closure_epoch: eb('closure_epoch', '+', 1) }))
      .execute();
    expect((await p.commit()).statusCode).toBe(409);
    expect(await packState(p.dataPack.name)).toBe('missing');
  });

  it('accepts an identical re-upload of a pack it holds, also several at once', async () => {
    const plain = Buffer.from('uploaded twice');
    const id = blobId(keys.idKey, plain);
    const p = pack([[id, BlobType.data, plain]]);
    const first = await upload(p);
    expect(first.statusCode).toBe(200);
    expect(first.json<{ created: boolean }>().created).toBe(true);
    const again = await upload(p);
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json<{ created: boolean }>().created).toBe(false);
    const other = pack([
      [blobId(keys.idKey, Buffer.from('racing')), BlobType.data, Buffer.from('racing')],
    ]);
    const racing = await Promise.all([upload(other), upload(other), upload(other)]);
    expect(racing.map((r) => r.statusCode)).toEqual([200, 200, 200]);
  });

  it('answers a read past a pack end with 416 INVALID_RANGE, and marks a truncated pack damaged', async () => {
    const p = await pointWithTwoFiles('range');
    const url = route(ROUTES.agentPack, { agent: agentId, pack: p.dataPack.name });
    const beyond = await v.app.inject({
      method: 'GET',
      url,
      headers: { ...auth(token), range: `bytes=0-${p.dataPack.size}` },
    });
    expect(beyond.statusCode).toBe(416);
    expect(beyond.json<{ error: { code: string } }>().error.code).toBe('INVALID_RANGE');
    await truncate(join(dir, packKey(keyringId, p.dataPack.name)), p.dataPack.size - 10);
    const short = await v.app.inject({
      method: 'GET',
      url,
      headers: { ...auth(token), range: `bytes=0-${p.dataPack.size - 1}` },
    });
    expect(short.statusCode).toBe(422);
    expect(short.json<{ error: { code: string; message: string } }>().error).toMatchObject({
      code: 'PACK_DAMAGED',
    });
    expect(await packState(p.dataPack.name)).toBe('damaged');
    expect(await exists([p.aId])).toEqual([p.aId.toString('hex')]);
  });

  it('re-hashes a reported pack itself: a false report changes nothing, a damaged footer is marked', async () => {
    const p = await pointWithTwoFiles('report');
    expect((await p.commit()).statusCode).toBe(201);
    const check = async () =>
      v.app.inject({
        method: 'POST',
        url: route(ROUTES.agentPackCheck, { agent: agentId, pack: p.dataPack.name }),
        headers: auth(token),
      });
    const before = await epoch();
    const honest = await check();
    expect(honest.json()).toEqual({ name: p.dataPack.name, state: 'ok' });
    expect(await epoch()).toBe(before);
    // Damage the footer only: every blob still opens, but the bytes no longer match the name.
    const path = join(dir, packKey(keyringId, p.dataPack.name));
    const bytes = await readFile(path);
    bytes[bytes.length - 30]! ^= 1;
    await writeFile(path, bytes);
    v.clock.now += 120_000;
    expect((await check()).json()).toEqual({ name: p.dataPack.name, state: 'damaged' });
    expect(await epoch()).toBe(before + 1);
    expect((await p.commit()).statusCode).toBe(409);
  });

  it('reads what a tree refers to from its footer: a damaged footer makes the tree missing and marks its pack, and a re-upload heals', async () => {
    const p = await pointWithTwoFiles('footer');
    expect((await p.commit()).statusCode).toBe(201);
    // Any loss voids every closure flag, so the next commit walks the tree again.
    await v.meta.db
      .updateTable('keyrings')
      .set((eb) => ({ closure_epoch: eb('closure_epoch', '+', 1) }))
      .where('id', '=', keyringId)
      .execute();
    const [tree] = await lookup(v.meta.db, keyringId, [p.treeId.toString('hex')]);
    // The footer's hash no longer matches; the pack keeps its size, so only its footer tells.
    const path = join(dir, packKey(keyringId, tree!.pack));
    const bytes = await readFile(path);
    bytes[bytes.length - 30]! ^= 1;
    await writeFile(path, bytes);
    const refused = await p.commit();
    expect(refused.statusCode).toBe(409);
    expect(refused.json<{ error: { missing: string[] } }>().error.missing).toEqual([
      p.treeId.toString('hex'),
    ]);
    expect(await packState(tree!.pack)).toBe('damaged');
    expect(await exists([p.treeId])).toEqual([p.treeId.toString('hex')]);
    // The agent stores the tree again (next to a blob of its own, in a pack of another name).
    const extra = Buffer.from('footer extra');
    const again = pack([
      [blobId(keys.idKey, extra), BlobType.data, extra],
      [p.treeId, BlobType.tree, p.treeBytes, treeRefs(p.tree)],
    ]);
    expect((await upload(again)).statusCode).toBe(200);
    expect((await p.commit()).statusCode).toBe(201);
  });

  const pendingNames = async () =>
    (
      await v.meta.db
        .selectFrom('pending_packs')
        .select('name')
        .where('keyring_id', '=', keyringId)
        .execute()
    ).map((r) => r.name);

  it('keeps uploads pending until asked about, then indexes them together and closes their trees', async () => {
    await indexNow();
    const p = await pointWithTwoFiles('pending');
    // Stored and answered, but no row yet: the index takes them together later.
    expect(await pendingNames()).toHaveLength(2);
    expect(await lookup(v.meta.db, keyringId, [p.aId.toString('hex')])).toEqual([]);
    expect(await exists([p.aId, p.bId, p.treeId])).toEqual([]);
    expect(await pendingNames()).toEqual([]);
    expect(await closedAt(p.treeId)).toBe(await epoch());
    // A commit indexes its own uploads too.
    const late = await pointWithTwoFiles('pending late');
    expect((await late.commit()).statusCode).toBe(201);
    expect(await pendingNames()).toEqual([]);
    // A pack is readable by name as soon as its upload is answered.
    const more = await pointWithTwoFiles('pending read');
    const read = await v.app.inject({
      method: 'GET',
      url: route(ROUTES.agentPack, { agent: agentId, pack: more.dataPack.name }),
      headers: auth(token),
    });
    expect(read.statusCode).toBe(200);
    expect(read.rawPayload.equals(Buffer.concat(more.dataPack.bytes))).toBe(true);
  });

  it('forgets a pending pack whose file went away before it was indexed, moves the epoch, and the commit asks for its blobs', async () => {
    await indexNow();
    const p = await pointWithTwoFiles('pending lost');
    const before = await epoch();
    await rm(join(dir, packKey(keyringId, p.dataPack.name)));
    const refused = await p.commit();
    expect(refused.statusCode).toBe(409);
    expect(refused.json<{ error: { missing: string[] } }>().error.missing.sort()).toEqual(
      [p.aId.toString('hex'), p.bId.toString('hex')].sort(),
    );
    expect(await pendingNames()).toEqual([]);
    expect(await epoch()).toBeGreaterThan(before);
    expect((await upload(p.dataPack)).statusCode).toBe(200);
    expect((await p.commit()).statusCode).toBe(201);
  });

  it('indexes a pending pack whose footer is damaged as nothing, and the commit asks for its blobs', async () => {
    await indexNow();
    const p = await pointWithTwoFiles('pending damaged');
    const path = join(dir, packKey(keyringId, p.dataPack.name));
    const bytes = await readFile(path);
    bytes[bytes.length - 30]! ^= 1;
    await writeFile(path, bytes);
    const refused = await p.commit();
    expect(refused.statusCode).toBe(409);
    expect(await pendingNames()).toEqual([]);
    expect(await lookup(v.meta.db, keyringId, [p.aId.toString('hex')])).toEqual([]);
  });
});
