/**
 * @module blob-index/closed
 * Closure flags: a tree or manifest whose whole subtree was proven stored at an epoch.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ID_BATCH, idBytes, slices } from './batches.js';
import { findKeyringRef } from './keyring-refs.js';

/** Marks blobs `ids` (hex) closed at the keyring's closure `epoch`. */
export async function markClosed(
  db: Kysely<Database>,
  keyringId: string,
  ids: readonly string[],
  epoch: number,
): Promise<void> {
  const keyring = await findKeyringRef(db, keyringId);
  if (keyring === undefined) return;
  for (const batch of slices(ids, ID_BATCH)) {
    await db
      .updateTable('blobs')
      .set({ closed: epoch })
      .where('keyring', '=', keyring)
      .where('id', 'in', idBytes(batch))
      .execute();
  }
}
