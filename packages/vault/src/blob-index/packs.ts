/**
 * @module blob-index/packs
 * Pack rows: one per stored pack of a keyring, with the health state the vault last saw.
 */
import type { Kysely, Selectable } from 'kysely';
import type { Database, PackState } from '../db/schema.js';
import { ID_BATCH, slices } from './batches.js';
import { findKeyringRef } from './keyring-refs.js';
import { packsInUse, type PackIds } from './pack-rows.js';

/** A pack as the index records it. */
export interface PackInfo {
  /** Lowercase hex of the pack's SHA-256. */
  name: string;
  size: number;
  /** How many blobs its footer lists. */
  blobs: number;
  createdAt: number;
  state: PackState;
  checkedAt: number | null;
  /** When GC found no blob row pointing into it any more (null: in use). */
  condemnedAt: number | null;
}

const COLUMNS = [
  'name',
  'size',
  'blobs',
  'created_at',
  'state',
  'checked_at',
  'condemned_at',
] as const;

type PackRow = Pick<Selectable<Database['packs']>, (typeof COLUMNS)[number]>;

const info = (row: PackRow): PackInfo => ({
  name: row.name,
  size: row.size,
  blobs: row.blobs,
  createdAt: row.created_at,
  state: row.state,
  checkedAt: row.checked_at,
  condemnedAt: row.condemned_at ?? null,
});

/** Pack `name` of the keyring, or undefined. */
export async function getPack(
  db: Kysely<Database>,
  keyringId: string,
  name: string,
): Promise<PackInfo | undefined> {
  const row = await db
    .selectFrom('packs')
    .select(COLUMNS)
    .where('keyring_id', '=', keyringId)
    .where('name', '=', name)
    .executeTakeFirst();
  return row && info(row);
}

/** Every pack of the keyring, by name. */
export async function listPacks(db: Kysely<Database>, keyringId: string): Promise<PackInfo[]> {
  const rows = await db
    .selectFrom('packs')
    .select(COLUMNS)
    .where('keyring_id', '=', keyringId)
    .orderBy('name')
    .execute();
  return rows.map(info);
}

/**
 * Records `state` for pack `name`, checked at `checkedAt`. With `onlyIfChanged`, a pack already
 * in that state is left as it is. Returns whether a row changed; the caller owns the
 * transaction and the closure epoch (pack-health).
 */
export async function setPackState(
  db: Kysely<Database>,
  keyringId: string,
  name: string,
  state: PackState,
  checkedAt: number,
  { onlyIfChanged = false }: { onlyIfChanged?: boolean } = {},
): Promise<boolean> {
  let update = db
    .updateTable('packs')
    .set({ state, checked_at: checkedAt })
    .where('keyring_id', '=', keyringId)
    .where('name', '=', name);
  if (onlyIfChanged) update = update.where('state', '!=', state);
  const result = await update.executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Deletes the rows of those of `packs` that no blob row refers to any more, and returns the
 * names deleted; a pack still referred to is kept, so a garbage collector that moved too little
 * cannot leave rows pointing nowhere. Each pack comes with its footer's ids (looked up by
 * primary key); a pack without them costs a pass over the keyring's rows per 1,000 such packs.
 * Deleting a pack row bumps the keyring's closure epoch (trigger). The check and the delete
 * are separate statements: an upload indexing rows into one of these packs between them must
 * be kept out by the caller (garbage collection's own exclusion).
 */
export async function deletePacks(
  db: Kysely<Database>,
  keyringId: string,
  packs: readonly PackIds[],
): Promise<string[]> {
  const ids = new Map(packs.map((p) => [p.name, p.ids]));
  const rows: { seq: number; name: string }[] = [];
  for (const batch of slices([...ids.keys()], ID_BATCH)) {
    rows.push(
      ...(await db
        .selectFrom('packs')
        .select(['seq', 'name'])
        .where('keyring_id', '=', keyringId)
        .where('name', 'in', batch)
        .execute()),
    );
  }
  if (rows.length === 0) return [];
  const ref = await findKeyringRef(db, keyringId);
  const used =
    ref === undefined
      ? new Set<number>()
      : await packsInUse(
          db,
          ref,
          rows.map((r) => ({ seq: r.seq, ids: ids.get(r.name) ?? null })),
        );
  const unused = rows.filter((p) => !used.has(p.seq));
  for (const batch of slices(unused, ID_BATCH)) {
    await db
      .deleteFrom('packs')
      .where(
        'seq',
        'in',
        batch.map((p) => p.seq),
      )
      .execute();
  }
  return unused.map((p) => p.name);
}
