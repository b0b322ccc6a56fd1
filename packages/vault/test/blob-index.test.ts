import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPgDatabase, type TestDb } from '../../cli/test/e2e/harness.js';
import { sql } from 'kysely';
import {
  blobsInPack,
  condemnPacks,
  deleteBlobs,
  deleteKeyrings,
  deletePacks,
  getPack,
  insertPack,
  knownIds,
  listPacks,
  locate,
  lookup,
  markClosed,
  scanBlobs,
  setPackState,
  type BlobEntry,
  type PackIds,
} from '../src/blob-index/index.js';
import { openMetadataDb, type MetadataDb } from '../src/db/connect.js';

const hex = (name: string): string => createHash('sha256').update(name).digest('hex');
const entry = (name: string, offset: number, type = 1): BlobEntry => ({
  id: hex(name),
  offset,
  length: 10,
  type,
});

describe.each(['sqlite', 'postgres'] as const)('blob index (%s)', (dialect) => {
  let meta: MetadataDb;
  let pgDb: TestDb | undefined;

  beforeEach(async () => {
    pgDb = dialect === 'postgres' ? await createPgDatabase() : undefined;
    meta = await openMetadataDb(pgDb?.url ?? 'sqlite:');
    for (const id of ['kr_a', 'kr_b']) {
      await meta.db
        .insertInto('keyrings')
        .values({ id, vault_id: 'vt_1', json: '{}', created_at: 1, join_key: null })
        .execute();
    }
  });

  afterEach(async () => {
    await meta.close();
    await pgDb?.drop();
  });

  const epochOf = async (id: string) =>
    (
      await meta.db
        .selectFrom('keyrings')
        .select('closure_epoch')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
    ).closure_epoch;

  it('moves a blob to a new upload only while its pack is not ok, and repacking moves it always', async () => {
    const { db } = meta;
    await insertPack(db, 'kr_a', { name: hex('p1'), size: 100 }, [entry('t', 0, 2)], {
      now: 1,
    });
    await markClosed(db, 'kr_a', [hex('t')], 7);
    // An ok pack keeps its rows when another upload holds the same blob.
    await insertPack(db, 'kr_a', { name: hex('p2'), size: 100 }, [entry('t', 50, 2)], {
      now: 2,
    });
    let [t] = await lookup(db, 'kr_a', [hex('t')]);
    expect([t?.pack, t?.offset, t?.closed]).toEqual([hex('p1'), 0, 7]);
    // Once p1 is found missing, the next upload of the blob takes it, without its flag.
    expect(await setPackState(db, 'kr_a', hex('p1'), 'missing', 3, { onlyIfChanged: true })).toBe(
      true,
    );
    expect(await setPackState(db, 'kr_a', hex('p1'), 'missing', 4, { onlyIfChanged: true })).toBe(
      false,
    );
    await insertPack(db, 'kr_a', { name: hex('p2'), size: 100 }, [entry('t', 50, 2)], {
      now: 5,
    });
    [t] = await lookup(db, 'kr_a', [hex('t')]);
    expect([t?.pack, t?.offset, t?.closed, t?.packState]).toEqual([hex('p2'), 50, 0, 'ok']);
    // Repacking moves rows out of an ok pack and keeps their closure flags.
    await markClosed(db, 'kr_a', [hex('t')], 8);
    await insertPack(db, 'kr_a', { name: hex('p3'), size: 100 }, [entry('t', 20, 2)], {
      now: 6,
      move: 'all',
    });
    [t] = await lookup(db, 'kr_a', [hex('t')]);
    expect([t?.pack, t?.offset, t?.closed]).toEqual([hex('p3'), 20, 8]);
    // A missing pack uploaded again is ok again, checked at upload time.
    await insertPack(db, 'kr_a', { name: hex('p1'), size: 100 }, [entry('t', 0, 2)], {
      now: 9,
    });
    expect(await getPack(db, 'kr_a', hex('p1'))).toMatchObject({ state: 'ok', checkedAt: 9 });
  });

  it('keeps keyrings apart, scans and streams ids in batches, deletes only unreferenced packs', async () => {
    const { db } = meta;
    const many = Array.from({ length: 2345 }, (_, i) => entry(`b${i}`, i * 10));
    await insertPack(db, 'kr_a', { name: hex('big'), size: 30_000 }, many, { now: 1 });
    await insertPack(db, 'kr_a', { name: hex('small'), size: 10 }, [entry('s', 0)], { now: 2 });
    await insertPack(db, 'kr_b', { name: hex('big'), size: 30_000 }, [entry('b0', 0)], { now: 3 });
    await setPackState(db, 'kr_a', hex('small'), 'damaged', 4);

    const scanned: string[] = [];
    let batches = 0;
    for await (const batch of scanBlobs(db, 'kr_a', { batch: 1000 })) {
      batches++;
      scanned.push(...batch.map((b) => b.id));
    }
    const everything = [...many.map((e) => e.id), hex('s')].sort();
    expect(scanned).toEqual(everything);
    expect(batches).toBe(3);
    const known: string[] = [];
    for await (const chunk of knownIds(db, 'kr_a', { batch: 500 })) {
      for (let i = 0; i < chunk.length; i += 32) known.push(chunk.toString('hex', i, i + 32));
    }
    expect(known).toEqual(many.map((e) => e.id).sort());
    expect((await lookup(db, 'kr_b', everything)).map((l) => l.id)).toEqual([hex('b0')]);
    expect((await listPacks(db, 'kr_b')).map((p) => p.name)).toEqual([hex('big')]);

    // A pack still referred to stays; one emptied by deleting its rows goes. Its rows are found
    // through the ids its footer lists, or without them by a pass over the keyring's rows.
    const idsOf = (entries: BlobEntry[]) => entries.map((e) => Buffer.from(e.id, 'hex'));
    const footers = (known: boolean): PackIds[] => [
      { name: hex('big'), ids: known ? idsOf(many) : null },
      { name: hex('small'), ids: known ? idsOf([entry('s', 0)]) : null },
    ];
    const before = await epochOf('kr_a');
    expect(await deletePacks(db, 'kr_a', footers(true))).toEqual([]);
    expect(await deletePacks(db, 'kr_a', footers(false))).toEqual([]);
    expect(await deleteBlobs(db, 'kr_a', [hex('s'), hex('not-there')])).toBe(1);
    const [big, small] = [footers(false)[0]!, footers(true)[1]!];
    expect(await deletePacks(db, 'kr_a', [big, small])).toEqual([hex('small')]);
    expect(await epochOf('kr_a')).toBeGreaterThan(before);
    expect(await epochOf('kr_b')).toBe(1);

    await deleteKeyrings(db, ['kr_a']);
    expect(await lookup(db, 'kr_a', everything)).toEqual([]);
    expect(await listPacks(db, 'kr_a')).toEqual([]);
    expect((await lookup(db, 'kr_b', [hex('b0')])).length).toBe(1);
  });

  it('binds every column of every row, also when a statement is reused for a pack of the same size', async () => {
    const { db } = meta;
    const first = [entry('r1', 0, 2), entry('r2', 10)];
    const second = [entry('s1', 5), entry('s2', 15, 3)];
    await insertPack(db, 'kr_a', { name: hex('p1'), size: 20 }, first, { now: 1 });
    await insertPack(db, 'kr_b', { name: hex('p2'), size: 30 }, second, { now: 2 });
    const rows = await db
      .selectFrom('blobs')
      .innerJoin('packs', 'packs.seq', 'blobs.pack')
      .innerJoin('keyring_refs', 'keyring_refs.seq', 'blobs.keyring')
      .select(['keyring_refs.keyring_id', 'blobs.id', 'packs.name', 'blobs.offset', 'blobs.type'])
      .orderBy('blobs.offset')
      .execute();
    expect(
      rows.map((r) => [
        r.keyring_id,
        Buffer.from(r.id).toString('hex'),
        r.name,
        Number(r.offset),
        Number(r.type),
      ]),
    ).toEqual([
      ['kr_a', hex('r1'), hex('p1'), 0, 2],
      ['kr_b', hex('s1'), hex('p2'), 5, 1],
      ['kr_a', hex('r2'), hex('p1'), 10, 1],
      ['kr_b', hex('s2'), hex('p2'), 15, 3],
    ]);
  });

  it('locates ids in the order asked, with repeats, across batches, and leaves out ids not indexed', async () => {
    const { db } = meta;
    const many = Array.from({ length: 2100 }, (_, i) => entry(`b${i}`, i * 10));
    await insertPack(db, 'kr_a', { name: hex('big'), size: 30_000 }, many, { now: 1 });
    await insertPack(db, 'kr_a', { name: hex('tree'), size: 10 }, [entry('t', 0, 2)], { now: 2 });
    await insertPack(db, 'kr_b', { name: hex('other'), size: 10 }, [entry('o', 0)], { now: 3 });
    const at = (i: number) => ({ pack: hex('big'), offset: i * 10, length: 10, type: 1 });

    // Every id found: rows line up with the sorted batch, whatever order they were asked in.
    const asked = many.map((e) => e.id).reverse();
    expect(await locate(db, 'kr_a', asked)).toEqual(many.map((_, i) => at(i)).reverse());
    // Some not indexed (one of another keyring), one twice, in a batch of their own.
    const mixed = [hex('b7'), hex('nowhere'), hex('t'), hex('o'), hex('b7'), hex('b2000')];
    expect(await locate(db, 'kr_a', mixed)).toEqual([
      at(7),
      undefined,
      { pack: hex('tree'), offset: 0, length: 10, type: 2 },
      undefined,
      at(7),
      at(2000),
    ]);
    expect(await locate(db, 'kr_c', [hex('b1')])).toEqual([undefined]);
    expect(await locate(db, 'kr_a', [])).toEqual([]);
  });

  it("finds a pack's rows through its footer ids, once each, or without them by a scan", async () => {
    const { db } = meta;
    const idOf = (e: BlobEntry) => Buffer.from(e.id, 'hex');
    const many = Array.from({ length: 1500 }, (_, i) => entry(`b${i}`, i * 10));
    await insertPack(db, 'kr_a', { name: hex('old'), size: 15_000 }, many, { now: 1 });
    // Repacked: the first 100 rows moved to another pack, whose footer lists only them.
    await insertPack(db, 'kr_a', { name: hex('new'), size: 1000 }, many.slice(0, 100), {
      now: 2,
      move: 'all',
    });
    await insertPack(db, 'kr_b', { name: hex('old'), size: 15_000 }, many, { now: 3 });
    const offsets = (rows: { offset: number }[]) => rows.map((r) => r.offset);
    const expected = many.slice(100).map((e) => e.offset);
    // A footer may list an id twice; here the repeat lands in another batch of ids.
    const ids = [...many.map(idOf), idOf(many[1200]!)];
    expect(offsets(await blobsInPack(db, 'kr_a', hex('old'), ids))).toEqual(expected);
    expect(offsets(await blobsInPack(db, 'kr_a', hex('old'), null))).toEqual(expected);
    expect(await blobsInPack(db, 'kr_a', hex('none'), ids)).toEqual([]);
  });

  it('condemns a pack by its footer ids only when no row points into it, and waits for an upload into it', async () => {
    const { db } = meta;
    const idOf = (name: string) => Buffer.from(hex(name), 'hex');
    await insertPack(db, 'kr_a', { name: hex('p'), size: 20 }, [entry('x', 0), entry('y', 10)], {
      now: 1,
    });
    const p = { name: hex('p'), ids: [idOf('x'), idOf('y')] };
    expect(await condemnPacks(db, dialect, 'kr_a', [p], 2)).toEqual([]);
    await deleteBlobs(db, 'kr_a', [hex('x'), hex('y')]);
    if (dialect === 'sqlite') {
      // One writer: nothing can index into the pack between the check and the condemnation.
      expect(await condemnPacks(db, dialect, 'kr_a', [p], 3)).toEqual([hex('p')]);
      return;
    }
    // An upload of the same pack, as insertPack writes it: the pack row first (an upsert that
    // changes nothing, since the pack is ok and not condemned, but locks the row), then a blob
    // row; it commits only once condemnPacks waits on a lock.
    const { seq } = await db
      .selectFrom('packs')
      .select('seq')
      .where('name', '=', hex('p'))
      .executeTakeFirstOrThrow();
    const ref = await db
      .selectFrom('keyring_refs')
      .select('seq')
      .where('keyring_id', '=', 'kr_a')
      .executeTakeFirstOrThrow();
    let indexed!: () => void;
    const rowsWritten = new Promise<void>((resolve) => (indexed = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const upload = db.transaction().execute(async (trx) => {
      await sql`INSERT INTO packs (keyring_id, name, size, blobs, created_at)
        VALUES ('kr_a', ${hex('p')}, 20, 2, 4)
        ON CONFLICT (keyring_id, name) DO UPDATE SET state = 'ok', checked_at = 4, condemned_at = NULL
        WHERE packs.state <> 'ok' OR packs.condemned_at IS NOT NULL`.execute(trx);
      await trx
        .insertInto('blobs')
        .values({ keyring: ref.seq, id: idOf('x'), pack: seq, offset: 0, length: 10, type: 1 })
        .execute();
      indexed();
      await gate;
    });
    await rowsWritten;
    const condemning = condemnPacks(db, dialect, 'kr_a', [p], 5);
    for (;;) {
      const waiting = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_locks
        WHERE NOT granted`.execute(db);
      if (waiting.rows[0]!.n > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    release();
    await upload;
    expect(await condemning).toEqual([]);
    expect((await getPack(db, 'kr_a', hex('p')))?.condemnedAt).toBeNull();
  });
});
