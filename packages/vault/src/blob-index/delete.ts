/**
 * @module blob-index/delete
 * Removing rows: blobs garbage collection found unreachable, and a deleted vault's keyrings.
 * Every deleted blob or pack row bumps its keyring's closure epoch (trigger, migration 0007),
 * so no closure flag survives a deletion.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ID_BATCH, idBytes, slices } from './batches.js';
import { findKeyringRef } from './keyring-refs.js';

/** Deletes the rows of blobs `ids` (hex); returns how many there were. */
export async function deleteBlobs(
  db: Kysely<Database>,
  keyringId: string,
  ids: readonly string[],
): Promise<number> {
  const keyring = await findKeyringRef(db, keyringId);
  if (keyring === undefined) return 0;
  let deleted = 0;
  for (const batch of slices(ids, ID_BATCH)) {
    const result = await db
      .deleteFrom('blobs')
      .where('keyring', '=', keyring)
      .where('id', 'in', idBytes(batch))
      .executeTakeFirst();
    deleted += Number(result.numDeletedRows);
  }
  return deleted;
}

/** Deletes every blob and pack row (pending ones too) of keyrings `keyringIds` (run inside the caller's transaction). */
export async function deleteKeyrings(
  db: Kysely<Database>,
  keyringIds: readonly string[],
): Promise<void> {
  if (keyringIds.length === 0) return;
  const refs = db.selectFrom('keyring_refs').select('seq').where('keyring_id', 'in', keyringIds);
  await db.deleteFrom('blobs').where('keyring', 'in', refs).execute();
  await db.deleteFrom('packs').where('keyring_id', 'in', keyringIds).execute();
  await db.deleteFrom('pending_packs').where('keyring_id', 'in', keyringIds).execute();
  await db.deleteFrom('keyring_refs').where('keyring_id', 'in', keyringIds).execute();
}
