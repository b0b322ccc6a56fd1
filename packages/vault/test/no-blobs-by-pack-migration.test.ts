import { BlobType, PackWriter, type FinishedPack } from '@coffer/core';
import { MemoryBlobStore } from '@coffer/storage';
import { sql, type Kysely } from 'kysely';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { insertPack, listPacks, lookup } from '../src/blob-index/index.js';
import type { Dialect } from '../src/db/migrations.js';
import type { Database } from '../src/db/schema.js';
import { collectKeyring, type GcOptions } from '../src/gc/collect.js';
import { packKey } from '../src/pack-keys.js';
import { migrationDb, type MigrationDb } from './migration-db.js';

const id = (name: string): Buffer => createHash('sha256').update(name).digest();
const HOUR = 3_600_000;
const OPTIONS: GcOptions = {
  graceMs: HOUR,
  repackBelow: 0.5,
  smallPackBytes: 0,
  targetPackBytes: 16 * 1024 * 1024,
};

/** A sealed blob as the vault sees it: version 1, its type, and bytes it never opens. */
const sealed = (type: BlobType): Buffer => Buffer.concat([Buffer.from([1, type]), id('x')]);

describe.each(['sqlite', 'postgres'] as const)('migration 0010 (%s)', (dialect: Dialect) => {
  let open: MigrationDb<Database> | undefined;
  let db: Kysely<Database> | undefined;

  afterEach(async () => {
    await open?.close();
  });

  async function hasIndex(name: string): Promise<boolean> {
    const query =
      dialect === 'postgres'
        ? sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = ${name}`
        : sql<{
            n: number;
          }>`SELECT count(*) AS n FROM sqlite_master WHERE type = 'index' AND name = ${name}`;
    return (await query.execute(db!)).rows[0]!.n > 0;
  }

  it('drops the index of blobs by pack from a vault 0009 made; GC still condemns, keeps and deletes the right packs', async () => {
    open = await migrationDb<Database>(dialect);
    ({ db } = open);
    const { migrator } = open;
    expect((await migrator.migrateTo('0009_gc')).error).toBeUndefined();
    const store = new MemoryBlobStore();
    await db
      .insertInto('keyrings')
      .values({ id: 'kr_a', vault_id: 'vt_1', json: '{}', created_at: 1, join_key: null })
      .execute();

    // A point (manifest → tree → two data blobs) in one pack; two blobs nothing reaches in
    // another, with a copy of one of the live ones (its row stays in the first pack).
    const upload = async (blobs: [string, BlobType, string[]?][]): Promise<FinishedPack> => {
      const writer = new PackWriter();
      for (const [name, type, refs = []] of blobs) {
        writer.add(id(name), type, sealed(type), refs.map(id));
      }
      const pack = writer.finish();
      await store.put(packKey('kr_a', pack.name), Buffer.concat(pack.bytes));
      await insertPack(
        db!,
        'kr_a',
        { name: pack.name, size: pack.size },
        pack.entries.map((e) => ({
          id: e.id.toString('hex'),
          offset: e.offset,
          length: e.length,
          type: e.type,
        })),
        { now: 1 },
      );
      return pack;
    };
    const live = await upload([
      ['manifest', BlobType.manifest, ['tree']],
      ['tree', BlobType.tree, ['d1', 'd2']],
      ['d1', BlobType.data],
      ['d2', BlobType.data],
    ]);
    const garbage = await upload([
      ['g1', BlobType.data],
      ['d1', BlobType.data],
      ['g2', BlobType.data],
    ]);
    await db
      .insertInto('points')
      .values({
        id: id('manifest').toString('hex'),
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
        item_id: null,
      })
      .execute();
    expect(await hasIndex('blobs_pack')).toBe(true);

    expect((await migrator.migrateToLatest()).error).toBeUndefined();
    expect(await hasIndex('blobs_pack')).toBe(false);

    const clock = { now: 10 * HOUR };
    const vault = { db, dialect, store, now: () => clock.now };
    const run = () => collectKeyring(vault, 'kr_a', OPTIONS);
    const state = async () =>
      Object.fromEntries(
        (await listPacks(db!, 'kr_a')).map((p) => [
          p.name,
          p.condemnedAt === null ? 'in use' : 'condemned',
        ]),
      );
    expect(await run()).toMatchObject({ blobsLive: 4, blobsCondemned: 2 });
    clock.now += 2 * HOUR;
    // The garbage pack's footer lists d1, whose row points into the other pack: it is empty.
    expect(await run()).toMatchObject({ blobsSwept: 2, packsDeleted: 0 });
    expect(await state()).toEqual({ [live.name]: 'in use', [garbage.name]: 'condemned' });
    clock.now += 2 * HOUR;
    expect(await run()).toMatchObject({ packsDeleted: 1, packsAfter: 1 });
    expect(await state()).toEqual({ [live.name]: 'in use' });
    expect(await store.head(packKey('kr_a', garbage.name))).toBeUndefined();
    const names = ['manifest', 'tree', 'd1', 'd2'].map((n) => id(n).toString('hex'));
    expect((await lookup(db, 'kr_a', names)).map((l) => l.pack)).toEqual(
      names.map(() => live.name),
    );
  });
});
