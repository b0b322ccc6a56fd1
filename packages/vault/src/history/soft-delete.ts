/**
 * @module history/soft-delete
 * Soft delete of recovery points: a deleted or expired point keeps its row and its data, hidden
 * from listings and restores, until its purge date (the vault's soft-delete period later); then
 * the purge removes the row and its data becomes garbage for GC. Undelete brings it back.
 */
import type { Kysely } from 'kysely';
import type { Database, PointDeleteReason } from '../db/schema.js';

const DAY_MS = 86_400_000;

/** Which live points to soft-delete: by id (within a vault), or every point of an item. */
export type PointSelection = { vaultId: string; ids: string[] } | { itemId: string };

/** The batch size of id lists in one statement (SQLite's parameter limit is far above it). */
const ID_BATCH = 500;

/**
 * Soft-deletes the live points selected, at `now`, to be purged `softDeleteDays` later;
 * resolves to how many were deleted (points deleted already keep their first date).
 */
export async function softDeletePoints(
  db: Kysely<Database>,
  selection: PointSelection,
  change: { reason: PointDeleteReason; by: string; now: number; softDeleteDays: number },
): Promise<number> {
  const values = {
    deleted_at: change.now,
    purge_at: change.now + change.softDeleteDays * DAY_MS,
    delete_reason: change.reason,
    deleted_by: change.by,
  };
  if ('itemId' in selection) {
    const result = await db
      .updateTable('points')
      .set(values)
      .where('item_id', '=', selection.itemId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
  let count = 0;
  for (let i = 0; i < selection.ids.length; i += ID_BATCH) {
    const result = await db
      .updateTable('points')
      .set(values)
      .where('vault_id', '=', selection.vaultId)
      .where('id', 'in', selection.ids.slice(i, i + ID_BATCH))
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    count += Number(result.numUpdatedRows);
  }
  return count;
}

/** Makes a soft-deleted point live again; resolves to whether it was soft-deleted. */
export async function undeletePoint(
  db: Kysely<Database>,
  vaultId: string,
  pointId: string,
): Promise<boolean> {
  const result = await db
    .updateTable('points')
    .set({ deleted_at: null, purge_at: null, delete_reason: null, deleted_by: null })
    .where('vault_id', '=', vaultId)
    .where('id', '=', pointId)
    .where('deleted_at', 'is not', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/**
 * Deletes the rows of a vault's soft-deleted points whose purge date has passed; their blobs
 * are then reachable from no point and GC reclaims them. Resolves to how many.
 */
export async function purgePoints(
  db: Kysely<Database>,
  vaultId: string,
  now: number,
): Promise<number> {
  const result = await db
    .deleteFrom('points')
    .where('vault_id', '=', vaultId)
    .where('deleted_at', 'is not', null)
    .where('purge_at', '<=', now)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
