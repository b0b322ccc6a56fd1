/**
 * @module blob-index/known-ids
 * Every id a keyring has stored in an ok pack, streamed in key order without holding them all:
 * what an agent needs to know to skip uploading what the vault holds.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { findKeyringRef } from './keyring-refs.js';

/**
 * Yields the keyring's ids whose pack is ok and that GC has not condemned, each batch one Buffer of 32-byte ids back to back
 * (the agent's cache format), at most `batch` ids per Buffer. Reads by key range, so memory
 * stays one batch however many blobs there are.
 */
export async function* knownIds(
  db: Kysely<Database>,
  keyringId: string,
  { batch = 10_000 }: { batch?: number } = {},
): AsyncGenerator<Buffer> {
  const keyring = await findKeyringRef(db, keyringId);
  if (keyring === undefined) return;
  let after: Buffer | undefined;
  for (;;) {
    let query = db
      .selectFrom('blobs')
      .innerJoin('packs', 'packs.seq', 'blobs.pack')
      .select('blobs.id')
      .where('blobs.keyring', '=', keyring)
      .where('packs.state', '=', 'ok')
      // GC condemned it: an agent must upload it again rather than rely on it (docs/gc.md).
      .where('blobs.condemned_at', 'is', null)
      .orderBy('blobs.id')
      .limit(batch);
    if (after) query = query.where('blobs.id', '>', after);
    const rows = await query.execute();
    if (rows.length === 0) return;
    yield Buffer.concat(rows.map((r) => r.id));
    if (rows.length < batch) return;
    after = rows[rows.length - 1]!.id;
  }
}
