import { sql, type Kysely, type Migrator } from 'kysely';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Dialect } from '../src/db/migrations.js';
import { migrationDb, type MigrationDb } from './migration-db.js';

/** The tables this test writes, as migrations up to 0010 left them. */
interface OldDb {
  keyring_refs: { seq?: number; keyring_id: string };
  packs: {
    seq?: number;
    keyring_id: string;
    name: string;
    size: number;
    blobs: number;
    created_at: number;
  };
  blobs: {
    keyring: number;
    id: Buffer;
    pack: number;
    offset: number;
    length: number;
    type: number;
    refs: Buffer | null;
    closed: number;
    condemned_at: number | null;
  };
}

const id = (name: string): Buffer => createHash('sha256').update(name).digest();
const ROWS = 300;
const KEPT = ['keyring', 'id', 'pack', 'offset', 'length', 'type', 'closed', 'condemned_at'];

describe.each(['sqlite', 'postgres'] as const)('migration 0011 (%s)', (dialect: Dialect) => {
  let open: MigrationDb<OldDb> | undefined;
  let db: Kysely<OldDb> | undefined;

  afterEach(async () => {
    await open?.close();
  });

  async function columns(): Promise<string[]> {
    const query =
      dialect === 'postgres'
        ? sql<{ name: string }>`SELECT column_name AS name FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = 'blobs'`
        : sql<{ name: string }>`SELECT name FROM pragma_table_info('blobs')`;
    return (await query.execute(db!)).rows.map((c) => c.name).sort();
  }

  const rows = () =>
    db!
      .selectFrom('blobs')
      .select(['keyring', 'id', 'pack', 'offset', 'length', 'type', 'closed', 'condemned_at'])
      .orderBy('keyring')
      .orderBy('id')
      .execute();

  /** A vault 0010 made, with blob rows in two keyrings and three packs; and its migrator. */
  async function previousVersion(): Promise<{ migrator: Migrator; written: OldDb['blobs'][] }> {
    open = await migrationDb<OldDb>(dialect);
    ({ db } = open);
    const { migrator } = open;
    expect((await migrator.migrateTo('0010_no_blobs_by_pack')).error).toBeUndefined();

    const keyrings = await db
      .insertInto('keyring_refs')
      .values([{ keyring_id: 'kr_a' }, { keyring_id: 'kr_b' }])
      .returning(['seq', 'keyring_id'])
      .execute();
    const packs = await db
      .insertInto('packs')
      .values(
        ['p1', 'p2', 'p3'].map((p, i) => ({
          keyring_id: i < 2 ? 'kr_a' : 'kr_b',
          name: id(p).toString('hex'),
          size: 1_000_000,
          blobs: ROWS,
          created_at: 1,
        })),
      )
      .returning(['seq', 'keyring_id'])
      .execute();
    // Data blobs without refs, trees with one to four, a manifest now and then; some closed,
    // some condemned, offsets past 2^32 as packs of 4 GiB allow.
    const written = Array.from({ length: ROWS }, (_, i) => {
      const pack = packs[i % packs.length]!;
      const keyring = keyrings.find((k) => k.keyring_id === pack.keyring_id)!;
      const type = i % 50 === 0 ? 3 : i % 5 === 0 ? 2 : 1;
      const refs = Array.from({ length: type === 1 ? 0 : (i % 4) + 1 }, (_, r) => id(`${i}.${r}`));
      return {
        keyring: keyring.seq!,
        id: id(`blob ${i}`),
        pack: pack.seq!,
        offset: i * 4_294_967 + (i % 3) * 2 ** 32,
        length: 100 + i,
        type,
        refs: refs.length > 0 ? Buffer.concat(refs) : null,
        closed: i % 4 === 0 ? 2 : 0,
        condemned_at: i % 7 === 0 ? 1_700_000_000_000 + i : null,
      };
    });
    for (let i = 0; i < written.length; i += 100) {
      await db
        .insertInto('blobs')
        .values(written.slice(i, i + 100))
        .execute();
    }
    expect(await columns()).toContain('refs');
    return { migrator, written };
  }

  it('drops refs from the blobs of a vault 0010 made, and keeps every row and its other columns', async () => {
    const { migrator, written } = await previousVersion();
    const expected = written
      .map(({ refs: _, ...kept }) => kept)
      .sort((a, b) => a.keyring - b.keyring || Buffer.compare(a.id, b.id));
    expect(await rows()).toEqual(expected);

    expect((await migrator.migrateToLatest()).error).toBeUndefined();

    expect(await columns()).toEqual([...KEPT].sort());
    expect(await rows()).toEqual(expected);
  });

  // PostgreSQL records a migration in the transaction that runs it; SQLite records it after.
  it.runIf(dialect === 'sqlite')(
    'runs again after a crash between dropping the column and recording the migration',
    async () => {
      const { migrator } = await previousVersion();
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const before = await rows();
      await sql`DELETE FROM kysely_migration WHERE name = '0011_refs_from_footers'`.execute(db!);

      const again = await migrator.migrateToLatest();
      expect(again.error).toBeUndefined();
      expect(again.results?.map((r) => [r.migrationName, r.status])).toEqual([
        ['0011_refs_from_footers', 'Success'],
      ]);
      expect(await columns()).toEqual([...KEPT].sort());
      expect(await rows()).toEqual(before);
      expect(before).toHaveLength(ROWS);
    },
  );
});
