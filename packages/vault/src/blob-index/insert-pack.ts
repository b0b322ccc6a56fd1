/**
 * @module blob-index/insert-pack
 * Indexes a stored, verified pack: its row and a row per blob of its footer.
 */
import { CompiledQuery, sql, type Insertable, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ROW_BATCH, slices } from './batches.js';
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
    await trx
      .insertInto('packs')
      .values({
        keyring_id: keyringId,
        name: pack.name,
        size: pack.size,
        blobs: entries.length,
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
    for (const batch of slices(entries, ROW_BATCH)) {
      const values: unknown[] = [];
      for (const e of batch) {
        values.push(keyring, Buffer.from(e.id, 'hex'), seq, e.offset, e.length, e.type);
      }
      await trx.executeQuery(rowsStatement(trx, move, values));
    }
  });
}

/** Values bound per blob row, in column order. */
const ROW_COLUMNS = 6;

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
    const [keyring, id, pack, offset, length, type] = values.slice(at, at + ROW_COLUMNS);
    list.push({ keyring, id, pack, offset, length, type } as Insertable<Database['blobs']>);
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
            closed: 0,
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
