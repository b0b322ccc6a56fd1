/**
 * @module blob-index/condemn
 * Garbage collection's grace period in the index (docs/gc.md): a blob or pack GC found
 * unreachable is condemned first (kept, readable, revivable) and deleted only by a later run.
 * Every write re-checks the state it acts on, in its own statement or transaction, so that a
 * commit or an upload that revives a blob or pack at the same moment wins.
 */
import type { Kysely } from 'kysely';
import type { Dialect } from '../db/migrations.js';
import type { Database } from '../db/schema.js';
import { ID_BATCH, idBytes, slices } from './batches.js';
import { findKeyringRef } from './keyring-refs.js';
import { selectLocations, toLocation, type BlobLocation } from './lookup.js';
import { packsInUse, type PackIds } from './pack-rows.js';

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

/**
 * The blob rows that point into pack `name`, in offset order: those among `ids` (its footer's)
 * by primary key, or without the ids (null: the footer unread) by a pass over the keyring's
 * rows.
 */
export async function blobsInPack(
  db: Kysely<Database>,
  keyringId: string,
  name: string,
  ids: readonly Buffer[] | null,
): Promise<BlobLocation[]> {
  const keyring = await findKeyringRef(db, keyringId);
  const row = await db
    .selectFrom('packs')
    .select('seq')
    .where('keyring_id', '=', keyringId)
    .where('name', '=', name)
    .executeTakeFirst();
  if (keyring === undefined || !row) return [];
  const query = selectLocations(db)
    .where('blobs.keyring', '=', keyring)
    .where('blobs.pack', '=', row.seq);
  const out = new Map<string, BlobLocation>();
  const batches =
    ids === null
      ? [query]
      : [...slices(ids, ID_BATCH)].map((b) => query.where('blobs.id', 'in', b));
  for (const batch of batches) {
    // A footer may list an id twice, in two batches: its row is the same.
    for (const r of await batch.execute()) out.set(r.id.toString('hex'), toLocation(r));
  }
  return [...out.values()].sort((a, b) => a.offset - b.offset);
}

/**
 * Condemns those of `packs` that no blob row points into, in one transaction; resolves to the
 * names condemned now. Each pack comes with its footer's ids (null: a pass over the keyring's
 * rows answers for it).
 */
export async function condemnPacks(
  db: Kysely<Database>,
  dialect: Dialect,
  keyringId: string,
  packs: readonly PackIds[],
  now: number,
): Promise<string[]> {
  const keyring = await findKeyringRef(db, keyringId);
  if (packs.length === 0 || keyring === undefined) return [];
  const ids = new Map(packs.map((p) => [p.name, p.ids]));
  return db.transaction().execute(async (trx) => {
    const rows: { seq: number; name: string }[] = [];
    for (const batch of slices([...ids.keys()], ID_BATCH)) {
      const query = trx
        .selectFrom('packs')
        .select(['seq', 'name'])
        .where('keyring_id', '=', keyringId)
        .where('name', 'in', batch)
        .where('condemned_at', 'is', null);
      // An upload writes its pack row (insertPack) before the blob rows, so on PostgreSQL,
      // holding the pack rows makes one that indexes into these packs either commit before the
      // check below reads (read committed: each statement sees what committed before it) or
      // wait for this transaction and then find the pack condemned and revive it. SQLite has
      // one writer.
      rows.push(...(await (dialect === 'postgres' ? query.forUpdate() : query).execute()));
    }
    const used = await packsInUse(
      trx,
      keyring,
      rows.map((r) => ({ seq: r.seq, ids: ids.get(r.name) ?? null })),
    );
    const free = rows.filter((r) => !used.has(r.seq));
    for (const batch of slices(free, ID_BATCH)) {
      await trx
        .updateTable('packs')
        .set({ condemned_at: now })
        .where(
          'seq',
          'in',
          batch.map((r) => r.seq),
        )
        .execute();
    }
    return free.map((r) => r.name);
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
