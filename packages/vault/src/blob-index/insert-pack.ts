/**
 * @module blob-index/insert-pack
 * Indexes stored, verified packs: a row per pack and a row per blob of its footer.
 */
import { CompiledQuery, sql, type Insertable, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ID_BATCH, ROW_BATCH, slices } from './batches.js';
import { keyringRef } from './keyring-refs.js';

/** A blob as a pack footer lists it. */
export interface BlobEntry {
  /** Lowercase hex of the 32-byte id. */
  id: string;
  offset: number;
  length: number;
  type: number;
}

export interface InsertPackOptions {
  /** The vault clock: the pack's created_at, or checked_at when a bad pack is replaced. */
  now: number;
  /**
   * Which rows of blobs already indexed move to this pack. `stale` (uploads): only those whose
   * pack is not ok; they lose their closure flag. `all` (repacking): every one, keeping its
   * closure flag, as the same bytes are now read from here.
   */
  move?: 'stale' | 'all';
}

/** A blob row to write: its raw id, where its pack's footer puts it, and its closure flag. */
export interface IndexEntry {
  id: Buffer;
  offset: number;
  length: number;
  type: number;
  /** The closure epoch at which the blob was proven closed (0 or absent: not proven). */
  closed?: number;
}

/**
 * Records pack `name` (`size` bytes) and its `entries` in one transaction. A pack indexed
 * before is marked ok again if it was not; a blob indexed before moves as `move` says. The
 * pack file must be stored, and its footer verified, before this is called.
 */
export async function insertPack(
  db: Kysely<Database>,
  keyringId: string,
  pack: { name: string; size: number },
  entries: readonly BlobEntry[],
  { now, move = 'stale' }: InsertPackOptions,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const keyring = await keyringRef(trx, keyringId);
    const seq = await writePackRow(trx, keyringId, { ...pack, blobs: entries.length }, now);
    const rows = entries.map((e): Row => [keyring, seq, { ...e, id: Buffer.from(e.id, 'hex') }]);
    await writeRows(trx, move, rows);
  });
}

/** A pending pack (blob-index/pending) to index, with the rows its footer lists. */
export interface PendingPackRows {
  name: string;
  size: number;
  entries: readonly IndexEntry[];
}

/**
 * Indexes those of `packs` that are still pending for the keyring, all in one transaction, and
 * returns their names; a pack another indexer took meanwhile is skipped. One transaction for
 * many packs writes each page of the index once, where a transaction per pack rewrote most of
 * them every time; and their rows go in in id order, which SQLite inserts in about half the
 * time of random order (docs/performance.md, "Pending packs").
 */
export async function indexPending(
  db: Kysely<Database>,
  keyringId: string,
  packs: readonly PendingPackRows[],
  now: number,
): Promise<string[]> {
  if (packs.length === 0) return [];
  return db.transaction().execute(async (trx) => {
    const taken = new Set<string>();
    for (const batch of slices(
      packs.map((p) => p.name),
      ID_BATCH,
    )) {
      const rows = await trx
        .deleteFrom('pending_packs')
        .where('keyring_id', '=', keyringId)
        .where('name', 'in', batch)
        .returning('name')
        .execute();
      for (const row of rows) taken.add(row.name);
    }
    if (taken.size === 0) return [];
    const keyring = await keyringRef(trx, keyringId);
    const rows: Row[] = [];
    for (const pack of packs) {
      if (!taken.has(pack.name)) continue;
      const seq = await writePackRow(trx, keyringId, { ...pack, blobs: pack.entries.length }, now);
      for (const e of pack.entries) rows.push([keyring, seq, e]);
    }
    await writeRows(trx, 'stale', byId(rows));
    return [...taken];
  });
}

/** A blob row: the keyring's ref, the pack's seq, and the entry. */
type Row = [keyring: number, pack: number, entry: IndexEntry];

/**
 * `rows` in the order of their ids' first four bytes (a sort of numbers, not of buffers), each
 * id once: the first row of an id wins, as when the packs were indexed one by one. A statement
 * must not carry one id twice, which PostgreSQL's upsert refuses.
 */
function byId(rows: readonly Row[]): Row[] {
  // The row's position rides in the low bits of an exact float: 32 bits of prefix and 21 of
  // position fill the 53 bits of a double's integers.
  const SPAN = 2 ** 21;
  const prefix = (row: Row): number => row[2].id.readUInt32BE(0);
  let sorted: Row[];
  if (rows.length >= SPAN) {
    sorted = [...rows].sort((a, b) => Buffer.compare(a[2].id, b[2].id));
  } else {
    const keys = new Float64Array(rows.length);
    for (let i = 0; i < rows.length; i++) keys[i] = prefix(rows[i]!) * SPAN + i;
    keys.sort();
    sorted = Array.from(keys, (key) => rows[key % SPAN]!);
  }
  const out: Row[] = [];
  // Where in `out` the rows of the current prefix begin: only those can hold the same id.
  let runStart = 0;
  let runPrefix = -1;
  for (const row of sorted) {
    const p = prefix(row);
    if (p !== runPrefix) {
      runStart = out.length;
      runPrefix = p;
    } else if (seenInRun(out, runStart, row[2].id)) {
      continue;
    }
    out.push(row);
  }
  return out;
}

/** Whether `out` holds `id` from `start` on. */
function seenInRun(out: readonly Row[], start: number, id: Buffer): boolean {
  for (let i = start; i < out.length; i++) if (out[i]![2].id.equals(id)) return true;
  return false;
}

/** Writes (or marks ok again) a pack's row inside the caller's transaction; returns its seq. */
async function writePackRow(
  trx: Kysely<Database>,
  keyringId: string,
  pack: { name: string; size: number; blobs: number },
  now: number,
): Promise<number> {
  await trx
    .insertInto('packs')
    .values({
      keyring_id: keyringId,
      name: pack.name,
      size: pack.size,
      blobs: pack.blobs,
      created_at: now,
    })
    .onConflict((oc) =>
      oc
        .columns(['keyring_id', 'name'])
        .doUpdateSet({ state: 'ok', checked_at: now, condemned_at: null })
        // A pack GC condemned is in use again once blobs are indexed in it again.
        .where((eb) =>
          eb.or([eb('packs.state', '!=', 'ok'), eb('packs.condemned_at', 'is not', null)]),
        ),
    )
    .execute();
  const { seq } = await trx
    .selectFrom('packs')
    .select('seq')
    .where('keyring_id', '=', keyringId)
    .where('name', '=', pack.name)
    .executeTakeFirstOrThrow();
  return seq;
}

/** Writes blob rows inside the caller's transaction, ROW_BATCH to a statement. */
async function writeRows(
  trx: Kysely<Database>,
  move: 'stale' | 'all',
  rows: readonly Row[],
): Promise<void> {
  for (const batch of slices(rows, ROW_BATCH)) {
    const values: unknown[] = [];
    for (const [keyring, seq, e] of batch) {
      values.push(keyring, e.id, seq, e.offset, e.length, e.type, e.closed ?? 0);
    }
    await trx.executeQuery(rowsStatement(trx, move, values));
  }
}

/** Values bound per blob row, in column order. */
const ROW_COLUMNS = 7;

/**
 * The blobs INSERT for `values` (ROW_COLUMNS per row): compiled by Kysely once per dialect,
 * `move` and row count, then bound to new values. Building and compiling the query for every
 * 400 rows cost the vault about as much CPU as SQLite's own work on them.
 */
function rowsStatement(
  db: Kysely<Database>,
  move: 'stale' | 'all',
  values: unknown[],
): CompiledQuery {
  const rows = values.length / ROW_COLUMNS;
  const dialect = db.getExecutor().adapter.constructor;
  let byDialect = compiledRows.get(dialect);
  if (!byDialect) compiledRows.set(dialect, (byDialect = new Map()));
  const key = `${move}:${rows}`;
  const known = byDialect.get(key);
  if (known) return CompiledQuery.raw(known.sql, [...values, ...known.tail]);
  const list = [];
  for (let at = 0; at < values.length; at += ROW_COLUMNS) {
    const [keyring, id, pack, offset, length, type, closed] = values.slice(at, at + ROW_COLUMNS);
    list.push({ keyring, id, pack, offset, length, type, closed } as Insertable<Database['blobs']>);
  }
  const compiled = insertRows(db, move, list).compile();
  // The rows' values come first, in column order; what follows (the upsert's constants) is
  // the same for every call.
  const head = compiled.parameters.slice(0, values.length);
  if (!head.every((v, i) => v === values[i])) {
    throw new Error('blob-index: the INSERT binds its values in an unexpected order');
  }
  byDialect.set(key, { sql: compiled.sql, tail: compiled.parameters.slice(values.length) });
  return compiled;
}

const compiledRows = new WeakMap<object, Map<string, { sql: string; tail: readonly unknown[] }>>();

function insertRows(
  db: Kysely<Database>,
  move: 'stale' | 'all',
  rows: Insertable<Database['blobs']>[],
) {
  return db
    .insertInto('blobs')
    .values(rows)
    .onConflict((oc) => {
      const target = oc.columns(['keyring', 'id']);
      if (move === 'all') {
        return target.doUpdateSet((eb) => ({
          pack: eb.ref('excluded.pack'),
          offset: eb.ref('excluded.offset'),
          length: eb.ref('excluded.length'),
        }));
      }
      return (
        target
          .doUpdateSet((eb) => ({
            pack: eb.ref('excluded.pack'),
            offset: eb.ref('excluded.offset'),
            length: eb.ref('excluded.length'),
            type: eb.ref('excluded.type'),
            // What the indexer proved for the new copy (pack-indexer.ts), else 0.
            closed: eb.ref('excluded.closed'),
            condemned_at: null,
          }))
          // A copy indexed in a pack that is not ok moves here (old points heal too); the
          // rows of a damaged pack are never deleted, as most of it may still read. A blob
          // GC condemned moves here too and lives again (docs/gc.md).
          .where(
            sql<boolean>`blobs.condemned_at IS NOT NULL OR NOT EXISTS (SELECT 1 FROM packs p WHERE p.seq = blobs.pack AND p.state = 'ok')`,
          )
      );
    });
}
