/**
 * @module blob-index/pending
 * Packs stored and verified whose blobs are not indexed yet (migration 0012). An upload records
 * its pack here; pack-indexer.ts moves many of them into the index at once.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ID_BATCH, slices } from './batches.js';

/** A pending pack: its name, its size and how many blobs its footer lists. */
export interface PendingPack {
  name: string;
  size: number;
  blobs: number;
}

/** Records pack `pack` as stored and waiting to be indexed; a repeat is ignored. */
export async function addPending(
  db: Kysely<Database>,
  keyringId: string,
  pack: PendingPack,
  now: number,
): Promise<void> {
  await db
    .insertInto('pending_packs')
    .values({ keyring_id: keyringId, ...pack, created_at: now })
    .onConflict((oc) => oc.columns(['keyring_id', 'name']).doNothing())
    .execute();
}

/** The keyring's pending packs, oldest first. */
export async function listPending(db: Kysely<Database>, keyringId: string): Promise<PendingPack[]> {
  return db
    .selectFrom('pending_packs')
    .select(['name', 'size', 'blobs'])
    .where('keyring_id', '=', keyringId)
    .orderBy('created_at')
    .orderBy('name')
    .execute();
}

/** How many blobs wait in the keyring's pending packs, and how many its index holds. */
export async function pendingLoad(
  db: Kysely<Database>,
  keyringId: string,
): Promise<{ pending: number; indexed: number }> {
  const { rows } = await sql<{ pending: number | string | null; indexed: number | string | null }>`
    SELECT (SELECT SUM(blobs) FROM pending_packs WHERE keyring_id = ${keyringId}) AS pending,
           (SELECT SUM(blobs) FROM packs WHERE keyring_id = ${keyringId}) AS indexed`.execute(db);
  // PostgreSQL sums integers as numeric, which arrives as text.
  return { pending: Number(rows[0]?.pending ?? 0), indexed: Number(rows[0]?.indexed ?? 0) };
}

/** Each keyring with pending packs, and when its oldest was recorded. */
export async function pendingKeyrings(
  db: Kysely<Database>,
): Promise<{ keyringId: string; oldest: number }[]> {
  const rows = await db
    .selectFrom('pending_packs')
    .select((eb) => ['keyring_id', eb.fn.min<number>('created_at').as('oldest')])
    .groupBy('keyring_id')
    .execute();
  return rows.map((r) => ({ keyringId: r.keyring_id, oldest: Number(r.oldest) }));
}

/**
 * Forgets pending packs `names` whose files cannot be read, and bumps the keyring's closure
 * epoch in the same transaction: the agent that uploaded them counts their blobs as stored, and
 * a new epoch makes it drop that belief and upload them again.
 */
export async function dropPending(
  db: Kysely<Database>,
  keyringId: string,
  names: readonly string[],
): Promise<void> {
  if (names.length === 0) return;
  await db.transaction().execute(async (trx) => {
    for (const batch of slices(names, ID_BATCH)) {
      await trx
        .deleteFrom('pending_packs')
        .where('keyring_id', '=', keyringId)
        .where('name', 'in', batch)
        .execute();
    }
    await trx
      .updateTable('keyrings')
      .set((eb) => ({ closure_epoch: eb('closure_epoch', '+', 1) }))
      .where('id', '=', keyringId)
      .execute();
  });
}
