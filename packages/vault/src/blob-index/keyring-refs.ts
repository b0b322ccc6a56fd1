/**
 * @module blob-index/keyring-refs
 * The small integer that stands for a keyring in every blob row (keyring_refs), so that a row
 * holds one to four bytes instead of the keyring's text id.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** The ref of `keyringId`, or undefined when nothing of it was ever indexed. */
export async function findKeyringRef(
  db: Kysely<Database>,
  keyringId: string,
): Promise<number | undefined> {
  const row = await db
    .selectFrom('keyring_refs')
    .select('seq')
    .where('keyring_id', '=', keyringId)
    .executeTakeFirst();
  return row?.seq;
}

/** The ref of `keyringId`, made on first use; concurrent first uses get the same one. */
export async function keyringRef(db: Kysely<Database>, keyringId: string): Promise<number> {
  const known = await findKeyringRef(db, keyringId);
  if (known !== undefined) return known;
  await db
    .insertInto('keyring_refs')
    .values({ keyring_id: keyringId })
    .onConflict((oc) => oc.column('keyring_id').doNothing())
    .execute();
  const made = await findKeyringRef(db, keyringId);
  if (made === undefined) throw new Error(`keyring ${keyringId}: its index ref was not stored`);
  return made;
}
