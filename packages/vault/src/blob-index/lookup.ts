/**
 * @module blob-index/lookup
 * Where blobs are: the rows of given ids with their pack's name, size and state.
 */
import type { Kysely } from 'kysely';
import type { Database, PackState } from '../db/schema.js';
import { ID_BATCH, idBytes, slices } from './batches.js';
import { findKeyringRef } from './keyring-refs.js';

/** One indexed blob and the pack that holds it. */
export interface BlobLocation {
  /** Lowercase hex of the 32-byte id. */
  id: string;
  /** The pack's name (hex). */
  pack: string;
  offset: number;
  length: number;
  type: number;
  /** Concatenated 32-byte ids it refers to (trees and manifests), else null. */
  refs: Buffer | null;
  /** The closure epoch it was proven closed at (0: never). */
  closed: number;
  packSize: number;
  packState: PackState;
  /** When GC found it unreachable (null: live); a condemned blob is not reported as stored. */
  condemnedAt: number | null;
}

/** Blob rows joined with their pack, with the columns a BlobLocation is made of. */
export function selectLocations(db: Kysely<Database>) {
  return db
    .selectFrom('blobs')
    .innerJoin('packs', 'packs.seq', 'blobs.pack')
    .select([
      'blobs.id',
      'packs.name',
      'blobs.offset',
      'blobs.length',
      'blobs.type',
      'blobs.refs',
      'blobs.closed',
      'packs.size',
      'packs.state',
      'blobs.condemned_at',
    ]);
}

type LocationRow = Awaited<ReturnType<ReturnType<typeof selectLocations>['execute']>>[number];

/** A row of `selectLocations` as a BlobLocation. */
export function toLocation(row: LocationRow): BlobLocation {
  return {
    id: row.id.toString('hex'),
    pack: row.name,
    offset: row.offset,
    length: row.length,
    type: row.type,
    refs: row.refs,
    closed: row.closed,
    packSize: row.size,
    packState: row.state,
    condemnedAt: row.condemned_at ?? null,
  };
}

/**
 * The indexed blobs among `ids` (hex), in no particular order; ids not indexed are left out.
 * Any number of ids: they are looked up in batches.
 */
export async function lookup(
  db: Kysely<Database>,
  keyringId: string,
  ids: readonly string[],
): Promise<BlobLocation[]> {
  if (ids.length === 0) return [];
  const keyring = await findKeyringRef(db, keyringId);
  if (keyring === undefined) return [];
  const out: BlobLocation[] = [];
  for (const batch of slices(ids, ID_BATCH)) {
    const rows = await selectLocations(db)
      .where('blobs.keyring', '=', keyring)
      .where('blobs.id', 'in', idBytes(batch))
      .execute();
    for (const row of rows) {
      out.push(toLocation(row));
    }
  }
  return out;
}
