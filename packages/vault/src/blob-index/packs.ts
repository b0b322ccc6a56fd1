/**
 * @module blob-index/packs
 * Pack rows: one per stored pack of a keyring, with the health state the vault last saw.
 */
import type { Kysely, Selectable } from 'kysely';
import type { Database, PackState } from '../db/schema.js';
import { findKeyringRef } from './keyring-refs.js';

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
 * Deletes the rows of packs `names` that no blob row refers to any more, and returns the names
 * deleted; a pack still referred to is kept, so a garbage collector that moved too little
 * cannot leave rows pointing nowhere. Costs one pass over the keyring's blob rows per call, so
 * pass many names at once. Deleting a pack row bumps the keyring's closure epoch (trigger).
 */
export async function deletePacks(
  db: Kysely<Database>,
  keyringId: string,
  names: readonly string[],
): Promise<string[]> {
  if (names.length === 0) return [];
  const packs = await db
    .selectFrom('packs')
    .select(['seq', 'name'])
    .where('keyring_id', '=', keyringId)
    .where('name', 'in', names)
    .execute();
  if (packs.length === 0) return [];
  const ref = await findKeyringRef(db, keyringId);
  const used = new Set<number>();
  if (ref !== undefined) {
    const rows = await db
      .selectFrom('blobs')
      .select('pack')
      .distinct()
      .where('keyring', '=', ref)
      .where(
        'pack',
        'in',
        packs.map((p) => p.seq),
      )
      .execute();
    for (const row of rows) used.add(row.pack);
  }
  const unused = packs.filter((p) => !used.has(p.seq));
  if (unused.length === 0) return [];
  await db
    .deleteFrom('packs')
    .where(
      'seq',
      'in',
      unused.map((p) => p.seq),
    )
    .execute();
  return unused.map((p) => p.name);
}
