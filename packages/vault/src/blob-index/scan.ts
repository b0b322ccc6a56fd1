/**
 * @module blob-index/scan
 * Every blob row of a keyring in key order and in batches, for work over the whole index
 * (garbage collection) without loading it into memory.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { findKeyringRef } from './keyring-refs.js';
import { selectLocations, toLocation, type BlobLocation } from './lookup.js';

/**
 * Yields the keyring's blob rows, whatever their pack's state, at most `batch` per array, in
 * ascending id order. Rows changed during the scan are seen or not depending on where the scan
 * stands; each batch is read by key range after the last id of the one before.
 */
export async function* scanBlobs(
  db: Kysely<Database>,
  keyringId: string,
  { batch = 10_000 }: { batch?: number } = {},
): AsyncGenerator<BlobLocation[]> {
  const keyring = await findKeyringRef(db, keyringId);
  if (keyring === undefined) return;
  let after: Buffer | undefined;
  for (;;) {
    let query = selectLocations(db)
      .where('blobs.keyring', '=', keyring)
      .orderBy('blobs.id')
      .limit(batch);
    if (after) query = query.where('blobs.id', '>', after);
    const rows = await query.execute();
    if (rows.length === 0) return;
    yield rows.map(toLocation);
    if (rows.length < batch) return;
    after = rows[rows.length - 1]!.id;
  }
}
