import { PackWriter, type BlobType } from '@coffer/core';
import { MemoryBlobStore } from '@coffer/storage';
import type { Kysely } from 'kysely';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { deleteBlobs, knownIds, listPacks, lookup } from '../src/blob-index/index.js';
import { checkClosure } from '../src/closure.js';
import type { Dialect } from '../src/db/migrations.js';
import type { Database } from '../src/db/schema.js';
import { packKey } from '../src/pack-keys.js';
import { migrationDb, type MigrationDb } from './migration-db.js';

/** The packs and blobs tables as migrations 0001–0006 made them and the old routes wrote them. */
interface OldDb {
  keyrings: {
    id: string;
    vault_id: string;
    json: string;
    created_at: number;
    closure_epoch: number;
  };
  packs: {
    keyring_id: string;
    name: string;
    size: number;
    blobs: number;
    created_at: number;
    state: string;
    checked_at: number | null;
  };
  blobs: {
    keyring_id: string;
    id: string;
    pack: string;
    offset: number;
    length: number;
    type: number;
    refs: Buffer | null;
    closed: number;
  };
  points: {
    id: string;
    vault_id: string;
    agent_id: string;
    keyring_id: string;
    item: string;
    parent: string | null;
    hostname: string;
    start_time: number;
    end_time: number;
    created_at: number;
    stats: string;
  };
}

const id = (name: string): Buffer => createHash('sha256').update(name).digest();
const hex = (name: string): string => id(name).toString('hex');
const EPOCH = 2;
const MANY = 2500;

describe.each(['sqlite', 'postgres'] as const)('migration 0007 (%s)', (dialect: Dialect) => {
  let open: MigrationDb<Database> | undefined;
  let db: Kysely<Database> | undefined;

  afterEach(async () => {
    await open?.close();
  });

  it('converts an index written by the previous version: every blob found, closure kept, triggers work', async () => {
    open = await migrationDb<Database>(dialect);
    ({ db } = open);
    const { migrator } = open;
    expect((await migrator.migrateTo('0006_audit_and_alerts')).error).toBeUndefined();
    const old = db as unknown as Kysely<OldDb>;
    const store = new MemoryBlobStore();

    // Two keyrings; keyring a has a point: manifest → tree t1 → (d1, d2, t2 → d3), closed at
    // the current epoch, plus MANY data blobs in a second pack, one blob in a pack found
    // missing, and one whose pack row is gone. Keyring b holds d1 too, in its own pack.
    for (const k of ['kr_a', 'kr_b']) {
      await old
        .insertInto('keyrings')
        .values({ id: k, vault_id: 'vt_1', json: '{}', created_at: 1, closure_epoch: EPOCH })
        .execute();
    }
    // The point's pack is a real one: the closure walk reads what its trees refer to from the
    // footer (the index's copy of refs is gone since 0011).
    const point: [string, number, string[]][] = [
      ['manifest', 3, ['t1']],
      ['t1', 2, ['d1', 'd2', 't2']],
      ['t2', 2, ['d3']],
      ['d1', 1, []],
      ['d2', 1, []],
      ['d3', 1, []],
    ];
    const writer = new PackWriter();
    for (const [name, type, refs] of point) {
      const sealed = Buffer.concat([Buffer.from([1, type]), Buffer.alloc(98)]);
      writer.add(id(name), type as BlobType, sealed, refs.map(id));
    }
    const p1 = writer.finish();
    await store.put(packKey('kr_a', p1.name), Buffer.concat(p1.bytes));
    const packs = {
      p1: { keyring: 'kr_a', name: p1.name, size: p1.size, state: 'ok' },
      p2: { keyring: 'kr_a', name: hex('p2'), size: 900_000, state: 'ok' },
      gone: { keyring: 'kr_a', name: hex('gone'), size: 300, state: 'missing' },
      b1: { keyring: 'kr_b', name: hex('b1'), size: 700, state: 'ok' },
    };
    for (const p of Object.values(packs)) {
      await old
        .insertInto('packs')
        .values({
          keyring_id: p.keyring,
          name: p.name,
          size: p.size,
          blobs: 1,
          created_at: 10,
          state: p.state,
          checked_at: p.state === 'ok' ? null : 20,
        })
        .execute();
      if (p.state === 'ok' && p !== packs.p1) {
        await store.put(packKey(p.keyring, p.name), Buffer.alloc(p.size));
      }
    }
    const blob = (
      keyring: string,
      name: string,
      pack: string,
      offset: number,
      type: number,
      refs: string[] = [],
      closed = 0,
    ) => ({
      keyring_id: keyring,
      id: hex(name),
      pack,
      offset,
      length: 100,
      type,
      refs: refs.length > 0 ? Buffer.concat(refs.map(id)) : null,
      closed,
    });
    const rows = [
      blob('kr_a', 'manifest', packs.p1.name, 0, 3, ['t1'], EPOCH),
      blob('kr_a', 't1', packs.p1.name, 100, 2, ['d1', 'd2', 't2'], EPOCH),
      blob('kr_a', 't2', packs.p1.name, 200, 2, ['d3'], EPOCH),
      blob('kr_a', 'd1', packs.p1.name, 300, 1),
      blob('kr_a', 'd2', packs.p1.name, 400, 1),
      blob('kr_a', 'd3', packs.p1.name, 500, 1),
      blob('kr_a', 'lost', packs.gone.name, 0, 1),
      blob('kr_a', 'orphan', hex('no-such-pack'), 0, 1),
      blob('kr_b', 'd1', packs.b1.name, 600, 1),
      ...Array.from({ length: MANY }, (_, i) =>
        blob('kr_a', `many${i}`, packs.p2.name, i * 100, 1),
      ),
    ];
    for (let i = 0; i < rows.length; i += 400) {
      await old
        .insertInto('blobs')
        .values(rows.slice(i, i + 400))
        .execute();
    }
    await old
      .insertInto('points')
      .values({
        id: hex('manifest'),
        vault_id: 'vt_1',
        agent_id: 'ag_1',
        keyring_id: 'kr_a',
        item: 'default',
        parent: null,
        hostname: 'h',
        start_time: 1,
        end_time: 2,
        created_at: 3,
        stats: '{}',
      })
      .execute();

    expect((await migrator.migrateToLatest()).error).toBeUndefined();

    // Every blob is found where it was, with its closure flag.
    const all = rows.filter((r) => r.keyring_id === 'kr_a').map((r) => r.id);
    const found = new Map((await lookup(db, 'kr_a', all)).map((l) => [l.id, l]));
    expect(found.size).toBe(all.length);
    for (const r of rows.filter((x) => x.keyring_id === 'kr_a')) {
      const l = found.get(r.id)!;
      expect([l.pack, l.offset, l.length, l.type, l.closed]).toEqual([
        r.pack,
        r.offset,
        r.length,
        r.type,
        r.closed,
      ]);
    }
    expect(found.get(hex('lost'))?.packState).toBe('missing');
    expect(found.get(hex('orphan'))?.packState).toBe('missing');
    const [other] = await lookup(db, 'kr_b', [hex('d1')]);
    expect([other?.pack, other?.offset]).toEqual([packs.b1.name, 600]);
    expect(
      (await listPacks(db, 'kr_a')).map((p) => [p.name, p.size, p.state, p.checkedAt]),
    ).toEqual(
      [
        [packs.gone.name, 300, 'missing', 20],
        [hex('no-such-pack'), 0, 'missing', null],
        [packs.p1.name, p1.size, 'ok', null],
        [packs.p2.name, 900_000, 'ok', null],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );

    // Known ids: those in ok packs, in order, streamed in batches.
    const known: string[] = [];
    for await (const chunk of knownIds(db, 'kr_a', { batch: 1000 })) {
      expect(chunk.length % 32).toBe(0);
      for (let i = 0; i < chunk.length; i += 32) known.push(chunk.toString('hex', i, i + 32));
    }
    const expected = rows
      .filter((r) => r.pack === packs.p1.name || r.pack === packs.p2.name)
      .map((r) => r.id)
      .sort();
    expect(known).toEqual(expected);

    // The point's closure holds, and its flags still count: nothing is walked again.
    const vault = { db, store, now: () => 100 };
    expect(await checkClosure(vault, 'kr_a', hex('manifest'))).toEqual({
      missing: [],
      walked: [],
      epoch: EPOCH,
      condemned: [],
    });
    // The deletion trigger was made again on the new table: deleting d3's row invalidates
    // every flag, and the walk finds it missing.
    expect(await deleteBlobs(db, 'kr_a', [hex('d3')])).toBe(1);
    const after = await checkClosure(vault, 'kr_a', hex('manifest'));
    expect(after.epoch).toBe(EPOCH + 1);
    expect(after.missing).toEqual([hex('d3')]);
    // The other keyring's epoch did not move.
    const epochs = await db.selectFrom('keyrings').select(['id', 'closure_epoch']).execute();
    expect(Object.fromEntries(epochs.map((e) => [e.id, e.closure_epoch]))).toEqual({
      kr_a: EPOCH + 1,
      kr_b: EPOCH,
    });
    expect(await db.selectFrom('points').select('id').execute()).toEqual([{ id: hex('manifest') }]);
  });
});
