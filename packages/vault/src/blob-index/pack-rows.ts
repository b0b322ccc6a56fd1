/**
 * @module blob-index/pack-rows
 * Which packs blob rows point into, without an index of blobs by pack (migration 0010 dropped
 * it, a third of the index's bytes): through the ids each pack's footer lists, looked up by
 * primary key, since a row is only ever indexed from the footer of the pack it points into; or,
 * for a pack whose footer could not be read, by a pass over the keyring's rows.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ID_BATCH, slices } from './batches.js';

/**
 * A pack and the 32-byte ids its footer lists (docs/format.md §5), which include every blob row
 * that can point into it; null when the footer could not be read.
 */
export interface PackIds {
  /** Lowercase hex of the pack's SHA-256. */
  name: string;
  ids: readonly Buffer[] | null;
}

/**
 * The seqs of those of `packs` that at least one blob row of keyring ref `keyring` points into.
 * Costs a primary-key lookup per listed id, and a pass over the keyring's rows per ID_BATCH
 * packs without ids.
 */
export async function packsInUse(
  db: Kysely<Database>,
  keyring: number,
  packs: readonly { seq: number; ids: readonly Buffer[] | null }[],
): Promise<Set<number>> {
  const used = new Set<number>();
  // Several packs' ids share a statement: a row found with any of their seqs is in use, since
  // its id is in its own pack's footer and so among the ids asked.
  let ids: Buffer[] = [];
  let seqs = new Set<number>();
  const ask = async (): Promise<void> => {
    if (ids.length === 0) return;
    const rows = await db
      .selectFrom('blobs')
      .select('pack')
      .distinct()
      .where('keyring', '=', keyring)
      .where('id', 'in', ids)
      .where('pack', 'in', [...seqs])
      .execute();
    for (const row of rows) used.add(row.pack);
    ids = [];
    seqs = new Set();
  };
  const unread: number[] = [];
  for (const pack of packs) {
    if (pack.ids === null) {
      unread.push(pack.seq);
      continue;
    }
    for (let i = 0; i < pack.ids.length;) {
      const take = pack.ids.slice(i, i + ID_BATCH - ids.length);
      ids.push(...take);
      seqs.add(pack.seq);
      i += take.length;
      if (ids.length >= ID_BATCH) await ask();
    }
  }
  await ask();
  for (const batch of slices(unread, ID_BATCH)) {
    const rows = await db
      .selectFrom('blobs')
      .select('pack')
      .distinct()
      .where('keyring', '=', keyring)
      .where('pack', 'in', batch)
      .execute();
    for (const row of rows) used.add(row.pack);
  }
  return used;
}
