import { ROUTES, route } from '@coffer/api';
import { BlobType, PackWriter, blobId, sealBlob, type MasterKeys } from '@coffer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPending, lookup } from '../src/blob-index/index.js';
import { PENDING_MAX_AGE_MS, batchIsDue, runIndexTask } from '../src/pack-indexer.js';
import { auth, makeVault, registerAgent, type InProcessVault } from './in-process-vault.js';

describe.each(['sqlite', 'postgres'] as const)('pack indexer (%s)', (dialect) => {
  let v: InProcessVault;
  let keys: MasterKeys;
  let token: string;
  let keyringId: string;

  beforeAll(async () => {
    v = await makeVault({ dialect });
    ({ keys, keyringId, token } = await registerAgent(v));
  });

  afterAll(async () => {
    await v?.close();
  });

  /** Uploads a pack of data blobs `texts`; returns its name. */
  async function uploadPack(...texts: string[]): Promise<string> {
    const writer = new PackWriter();
    for (const text of texts) {
      const plain = Buffer.from(text);
      const id = blobId(keys.idKey, plain);
      writer.add(id, BlobType.data, sealBlob(keys, BlobType.data, id, plain));
    }
    const pack = writer.finish();
    const answer = await v.app.inject({
      method: 'PUT',
      url: route(ROUTES.packUpload, { pack: pack.name }),
      headers: { ...auth(token), 'content-type': 'application/octet-stream' },
      payload: Buffer.concat(pack.bytes),
    });
    expect(answer.statusCode, answer.body).toBe(200);
    return pack.name;
  }

  /** Uploads a pack of one data blob; returns the blob's id (hex). */
  async function uploadOne(text: string): Promise<string> {
    await uploadPack(text);
    return blobId(keys.idKey, Buffer.from(text)).toString('hex');
  }

  const indexed = async (id: string) => (await lookup(v.meta.db, keyringId, [id])).length === 1;

  it('takes packs left by an earlier process or pending too long, and leaves fresh ones to the commit', async () => {
    const started = v.clock.now;
    const fresh = await uploadOne('uploaded while this process runs');
    await runIndexTask(v.app.vault, started);
    expect(await indexed(fresh)).toBe(false);
    // A process started after the upload: the backup that made it died with the old one.
    await runIndexTask(v.app.vault, v.clock.now + 1);
    expect(await indexed(fresh)).toBe(true);

    const old = await uploadOne('never committed');
    v.clock.now += PENDING_MAX_AGE_MS - 1000;
    await runIndexTask(v.app.vault, started);
    expect(await indexed(old)).toBe(false);
    v.clock.now += 2000;
    await runIndexTask(v.app.vault, started);
    expect(await indexed(old)).toBe(true);
  });

  it('indexes packs that share blobs in one go, each blob once, in the pack uploaded first', async () => {
    const shared = Array.from({ length: 500 }, (_, i) => `shared ${i}`);
    const first = await uploadPack(...shared, 'only in the first');
    v.clock.now += 1;
    await uploadPack('only in the second', ...shared.slice(0, 450), 'only in the second, too');
    await runIndexTask(v.app.vault, v.clock.now + 1);
    const ids = shared.map((t) => blobId(keys.idKey, Buffer.from(t)).toString('hex'));
    const rows = await lookup(v.meta.db, keyringId, ids);
    expect(rows).toHaveLength(500);
    expect(new Set(rows.map((r) => r.pack))).toEqual(new Set([first]));
  });

  it('finds a batch due once the pending blobs reach half the index, and at least 65,536', async () => {
    await runIndexTask(v.app.vault, v.clock.now + 1);
    const pending = async (name: string, blobs: number) =>
      addPending(v.meta.db, keyringId, { name, size: 100, blobs }, v.clock.now);
    await pending('aa'.repeat(32), 65_000);
    expect(await batchIsDue(v.app.vault, keyringId)).toBe(false);
    await pending('bb'.repeat(32), 600);
    expect(await batchIsDue(v.app.vault, keyringId)).toBe(true);
    // Such rows name no stored file: indexing forgets them.
    await runIndexTask(v.app.vault, v.clock.now + 1);
    expect(await batchIsDue(v.app.vault, keyringId)).toBe(false);
    const left = await v.meta.db.selectFrom('pending_packs').select('name').execute();
    expect(left).toEqual([]);
  });
});
