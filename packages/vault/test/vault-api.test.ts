import { ROUTES, route } from '@coffer/api';
import {
  BlobType,
  PackWriter,
  blobId,
  createKeyring,
  deriveJoinKey,
  encodeManifest,
  encodeTree,
  EntryType,
  sealBlob,
  signJoin,
  treeRefs,
  type MasterKeys,
} from '@coffer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, makeVault } from './in-process-vault.js';

describe('vault API', () => {
  let v: Awaited<ReturnType<typeof makeVault>>;
  let owner: string;
  let vaultId: string;
  let keys: MasterKeys;
  let keyringText: string;

  async function credentials(): Promise<{ secret: string }> {
    const r = await v.app.inject({
      method: 'POST',
      url: route(ROUTES.vaultCredentials, { vault: vaultId }),
      headers: auth(owner),
    });
    expect(r.statusCode).toBe(201);
    return r.json();
  }

  let keyringCreated = false;
  /** A registration: the first creates the keyring, later ones join it with the proof. */
  function registration(secret: string) {
    const joinKey = deriveJoinKey(keys);
    const proof = keyringCreated
      ? { joinProof: signJoin(joinKey, vaultId, keys.keyringId, secret).toString('base64') }
      : {};
    return {
      secret,
      name: 'm',
      hostname: 'h',
      keyring: keyringText,
      joinKey: joinKey.publicKey.toString('base64'),
      ...proof,
    };
  }

  async function registerAgent(): Promise<{ token: string; agentId: string }> {
    const { secret } = await credentials();
    const r = await v.app.inject({
      method: 'POST',
      url: ROUTES.register,
      payload: registration(secret),
    });
    keyringCreated ||= r.statusCode === 201;
    expect(r.statusCode, r.body).toBe(201);
    const body = r.json<{ token: string; agent: { id: string } }>();
    return { token: body.token, agentId: body.agent.id };
  }

  beforeAll(async () => {
    v = await makeVault();
    const t = await v.app.inject({
      method: 'POST',
      url: ROUTES.tenants,
      headers: auth(v.admin),
      payload: { name: 't' },
    });
    owner = t.json<{ token: string }>().token;
    const vr = await v.app.inject({
      method: 'POST',
      url: ROUTES.vaults,
      headers: auth(owner),
      payload: { name: 'v' },
    });
    vaultId = vr.json<{ id: string }>().id;
    const kr = await createKeyring('a long enough passphrase', { kdf: { N: 1024, r: 8, p: 1 } });
    keys = kr.keys;
    keyringText = JSON.stringify(kr.json);
  });

  afterAll(async () => {
    await v.close();
  });

  it('stores only hashes of tokens and secrets', async () => {
    await registerAgent();
    const tokens = await v.meta.db.selectFrom('tokens').select('hash').execute();
    const regs = await v.meta.db.selectFrom('registrations').select('secret_hash').execute();
    for (const row of [...tokens.map((t) => t.hash), ...regs.map((r) => r.secret_hash)]) {
      expect(row).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(tokens.map((t) => t.hash)).not.toContain(owner);
  });

  it('refuses credentials after 48 hours on the server side, and a second use', async () => {
    const { secret } = await credentials();
    v.clock.now += 48 * 3600 * 1000 + 1;
    const expired = await v.app.inject({
      method: 'POST',
      url: ROUTES.register,
      payload: registration(secret),
    });
    expect(expired.statusCode).toBe(410);
    expect(expired.json<{ error: { code: string } }>().error.code).toBe('CREDENTIALS_EXPIRED');
    const fresh = await credentials();
    const payload = registration(fresh.secret);
    expect((await v.app.inject({ method: 'POST', url: ROUTES.register, payload })).statusCode).toBe(
      201,
    );
    const again = await v.app.inject({ method: 'POST', url: ROUTES.register, payload });
    expect(again.statusCode).toBe(410);
    expect(again.json<{ error: { code: string } }>().error.code).toBe('CREDENTIALS_USED');
  });

  it('answers 401 without a token and 400 on malformed bodies', async () => {
    expect((await v.app.inject({ method: 'GET', url: ROUTES.vaults })).statusCode).toBe(401);
    const bad = await v.app.inject({
      method: 'POST',
      url: ROUTES.vaults,
      headers: auth(owner),
      payload: { name: '' },
    });
    expect(bad.statusCode).toBe(400);
    const extra = await v.app.inject({
      method: 'POST',
      url: ROUTES.blobsExist,
      headers: auth(owner),
      payload: { ids: ['zz'] },
    });
    expect(extra.statusCode).toBe(400);
  });

  it('makes a point visible only once its closure is stored', async () => {
    const agent = await registerAgent();
    const chunk = Buffer.from('file content');
    const dataId = blobId(keys.idKey, chunk);
    const tree = [
      {
        name: Buffer.from('f'),
        type: EntryType.file,
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtimeNs: 0n,
        ctimeNs: 0n,
        size: chunk.length,
        device: 0,
        inode: 0,
        links: 1,
        rdev: 0,
        content: [{ id: dataId, length: chunk.length }],
      },
    ];
    const treeBytes = encodeTree(tree);
    const treeId = blobId(keys.idKey, treeBytes);
    const manifestBytes = encodeManifest({
      tree: treeId,
      paths: [Buffer.from('/x')],
      hostname: 'h',
      username: 'u',
      startTimeNs: 1n,
      endTimeNs: 2n,
      item: 'default',
      tags: [],
      excludes: [],
      stats: {
        files: 1,
        directories: 0,
        otherEntries: 0,
        bytes: 12,
        newFiles: 1,
        changedFiles: 0,
        unchangedFiles: 0,
        addedBytes: 12,
        storedBytes: 0,
        warnings: 0,
      },
      program: 'test',
    });
    const manifestId = blobId(keys.idKey, manifestBytes);
    const upload = async (blobs: [Buffer, BlobType, Buffer, Buffer[]?][]) => {
      const writer = new PackWriter();
      for (const [id, type, plain, refs] of blobs)
        writer.add(id, type, sealBlob(keys, type, id, plain), refs);
      const pack = writer.finish();
      const r = await v.app.inject({
        method: 'PUT',
        url: route(ROUTES.packUpload, { pack: pack.name }),
        headers: { ...auth(agent.token), 'content-type': 'application/octet-stream' },
        payload: Buffer.concat(pack.bytes),
      });
      expect(r.statusCode, r.body).toBe(200);
    };
    // Tree and manifest first: the data blob is missing, so the commit must fail.
    await upload([
      [treeId, BlobType.tree, treeBytes, treeRefs(tree)],
      [manifestId, BlobType.manifest, manifestBytes, [treeId]],
    ]);
    const commit = {
      item: 'default',
      manifest: manifestId.toString('hex'),
      hostname: 'h',
      startTime: new Date().toISOString(),
      endTime: new Date().toISOString(),
      stats: {
        files: 1,
        directories: 0,
        otherEntries: 0,
        bytes: 12,
        newFiles: 1,
        changedFiles: 0,
        unchangedFiles: 0,
        addedBytes: 12,
        storedBytes: 0,
        warnings: 0,
      },
    };
    const early = await v.app.inject({
      method: 'POST',
      url: ROUTES.points,
      headers: auth(agent.token),
      payload: commit,
    });
    expect(early.statusCode).toBe(409);
    expect(early.json<{ error: { missing: string[] } }>().error.missing).toEqual([
      dataId.toString('hex'),
    ]);
    const listed = await v.app.inject({
      method: 'GET',
      url: route(ROUTES.agentPoints, { agent: agent.agentId }),
      headers: auth(agent.token),
    });
    expect(listed.json<{ points: unknown[] }>().points).toEqual([]);
    await upload([[dataId, BlobType.data, chunk]]);
    const ok = await v.app.inject({
      method: 'POST',
      url: ROUTES.points,
      headers: auth(agent.token),
      payload: commit,
    });
    expect(ok.statusCode, ok.body).toBe(201);
  });

  it('refuses a pack whose bytes do not match its name, and stores nothing', async () => {
    const agent = await registerAgent();
    const writer = new PackWriter();
    const plain = Buffer.from('x');
    const id = blobId(keys.idKey, plain);
    writer.add(id, BlobType.data, sealBlob(keys, BlobType.data, id, plain));
    const pack = writer.finish();
    const bytes = Buffer.concat(pack.bytes);
    bytes[20]! ^= 1;
    const r = await v.app.inject({
      method: 'PUT',
      url: route(ROUTES.packUpload, { pack: pack.name }),
      headers: { ...auth(agent.token), 'content-type': 'application/octet-stream' },
      payload: bytes,
    });
    expect(r.statusCode).toBeGreaterThanOrEqual(400);
    const packs = await v.meta.db
      .selectFrom('packs')
      .selectAll()
      .where('name', '=', pack.name)
      .execute();
    expect(packs).toEqual([]);
  });
});
