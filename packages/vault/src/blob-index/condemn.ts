/**
 * @module blob-index/condemn
 * Garbage collection's grace period in the index (docs/gc.md): a blob or pack GC found
 * unreachable is condemned first (kept, readable, revivable) and deleted only by a later run.
 * Every write re-checks, in its own statement, the state it acts on, so that a commit or an
 * upload that revives a blob at the same moment wins.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ID_BATCH, idBytes, slices } from './batches.js';
import { findKeyringRef } from './keyring-refs.js';
import { selectLocations, toLocation, type BlobLocation } from './lookup.js';

/**
 * Condemns those of blobs `ids` (hex) not condemned yet, and bumps the keyring's closure epoch
 * in the same transaction, so that no closure flag covers a condemned blob: a commit that
 * reaches one walks to it and revives it. Resolves to how many were condemned.
 */
export async function condemnBlobs(
  db: Kysely<Database>,
  keyringId: string,
  ids: readonly string[],
  now: number,
): Promise<number> {
  const keyring = await findKeyringRef(db, keyringId);
  if (keyring === undefined || ids.length === 0) return 0;
  return db.transaction().execute(async (trx) => {
    let condemned = 0;
    for (const batch of slices(ids, ID_BATCH)) {
      const result = await trx
        .updateTable('blobs')
        .set({ condemned_at: now })
        .where('keyring', '=', keyring)
        .where('id', 'in', idBytes(batch))
        .where('condemned_at', 'is', null)
        .executeTakeFirst();
      condemned += Number(result.numUpdatedRows);
    }
    await trx
      .updateTable('keyrings')
      .set((eb) => ({ closure_epoch: eb('closure_epoch', '+', 1) }))
      .where('id', '=', keyringId)
      .execute();
    return condemned;
  });
}

/**
 * Clears the condemnation of blobs `ids` (hex), in the caller's transaction; resolves to those
 * of `ids` that are not indexed at all (deleted meanwhile).
 */
export async function reviveBlobs(
  db: Kysely<Database>,
  keyringId: string,
  ids: readonly string[],
): Promise<string[]> {
  if (ids.length === 0) return [];
  const keyring = await findKeyringRef(db, keyringId);
  if (keyring === undefined) return [...ids];
  const gone: string[] = [];
  for (const batch of slices(ids, ID_BATCH)) {
    const result = await db
      .updateTable('blobs')
      .set({ condemned_at: null })
      .where('keyring', '=', keyring)
      .where('id', 'in', idBytes(batch))
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === batch.length) continue;
    const present = await db
      .selectFrom('blobs')
      .select('id')
      .where('keyring', '=', keyring)
      .where('id', 'in', idBytes(batch))
      .execute();
    const kept = new Set(present.map((r) => r.id.toString('hex')));
    gone.push(...batch.filter((id) => !kept.has(id)));
  }
  return gone;
}

/**
 * Deletes those of blobs `ids` (hex) condemned at or before `cutoff`, in one transaction; a
 * blob revived meanwhile stays. Resolves to the rows deleted. Each deleted row bumps the
 * keyring's closure epoch (trigger).
 */
export async function deleteCondemnedBlobs(
  db: Kysely<Database>,
  keyringId: string,
  ids: readonly string[],
  cutoff: number,
): Promise<{ id: string; pack: string; length: number }[]> {
  const keyring = await findKeyringRef(db, keyringId);
  if (keyring === undefined || ids.length === 0) return [];
  return db.transaction().execute(async (trx) => {
    const out: { id: string; pack: string; length: number }[] = [];
    for (const batch of slices(ids, ID_BATCH)) {
      // PostgreSQL locks the rows as it reads them, so a revival waits and then finds them gone;
      // SQLite runs one writer at a time.
      const rows = await trx
        .selectFrom('blobs')
        .innerJoin('packs', 'packs.seq', 'blobs.pack')
        .select(['blobs.id', 'packs.name', 'blobs.length'])
        .where('blobs.keyring', '=', keyring)
        .where('blobs.id', 'in', idBytes(batch))
        .where('blobs.condemned_at', '<=', cutoff)
        .execute();
      if (rows.length === 0) continue;
      await trx
        .deleteFrom('blobs')
        .where('keyring', '=', keyring)
        .where(
          'id',
          'in',
          rows.map((r) => r.id),
        )
        .where('condemned_at', '<=', cutoff)
        .execute();
      for (const r of rows) out.push({ id: r.id.toString('hex'), pack: r.name, length: r.length });
    }
    return out;
  });
}

/** The blob rows that point into pack `name`, in offset order. */
export async function blobsInPack(
  db: Kysely<Database>,
  keyringId: string,
  name: string,
): Promise<BlobLocation[]> {
  const keyring = await findKeyringRef(db, keyringId);
  const pack = await db
    .selectFrom('packs')
    .select('seq')
    .where('keyring_id', '=', keyringId)
    .where('name', '=', name)
    .executeTakeFirst();
  if (keyring === undefined || !pack) return [];
  // The ids first, from the (keyring, pack) index alone: SQLite would otherwise prefer the
  // primary key (keyring, id) and scan the keyring's every row. Then each row by its key.
  const ids = await db
    .selectFrom('blobs')
    .select('id')
    .where('keyring', '=', keyring)
    .where('pack', '=', pack.seq)
    .execute();
  const out: BlobLocation[] = [];
  for (const batch of slices(
    ids.map((r) => r.id),
    ID_BATCH,
  )) {
    const rows = await selectLocations(db)
      .where('blobs.keyring', '=', keyring)
      .where('blobs.id', 'in', batch)
      .where('blobs.pack', '=', pack.seq)
      .execute();
    for (const row of rows) {
      out.push(toLocation(row));
    }
  }
  return out.sort((a, b) => a.offset - b.offset);
}

/**
 * Condemns those of packs `names` that no blob row points into, in one transaction; resolves
 * to the names condemned now.
 */
export async function condemnPacks(
  db: Kysely<Database>,
  keyringId: string,
  names: readonly string[],
  now: number,
): Promise<string[]> {
  const keyring = await findKeyringRef(db, keyringId);
  if (names.length === 0 || keyring === undefined) return [];
  return db.transaction().execute(async (trx) => {
    const done: string[] = [];
    for (const name of names) {
      const result = await trx
        .updateTable('packs')
        .set({ condemned_at: now })
        .where('keyring_id', '=', keyringId)
        .where('name', '=', name)
        .where('condemned_at', 'is', null)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('blobs')
                .select(sql<number>`1`.as('one'))
                // With the keyring, the (keyring, pack) index answers; without it, a scan.
                .where('blobs.keyring', '=', keyring)
                .whereRef('blobs.pack', '=', 'packs.seq'),
            ),
          ),
        )
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 1) done.push(name);
    }
    return done;
  });
}

/** Clears the condemnation of pack `name` (blob rows point into it again). */
export async function revivePack(
  db: Kysely<Database>,
  keyringId: string,
  name: string,
): Promise<void> {
  await db
    .updateTable('packs')
    .set({ condemned_at: null })
    .where('keyring_id', '=', keyringId)
    .where('name', '=', name)
    .execute();
}
