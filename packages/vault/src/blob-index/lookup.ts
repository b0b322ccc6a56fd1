/**
 * @module blob-index/lookup
 * Where blobs are: the rows of given ids with their pack's name, size and state.
 */
import type { Kysely, Selectable } from 'kysely';
import type { BlobTable, Database, PackState } from '../db/schema.js';
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

/** Where a blob is, as a locate answer gives it. */
export interface Placement {
  pack: string;
  offset: number;
  length: number;
  type: number;
}

/** The columns of a blob row the lean lookups read. */
type BlobColumn = 'pack' | 'offset' | 'length' | 'type' | 'closed' | 'condemned_at';
type BlobRow<C extends BlobColumn> = Pick<Selectable<BlobTable>, C>;

/**
 * The `columns` of the rows of `ids` (hex) by id; ids not indexed are left out. Sorted,
 * lowercase hex orders as the 32-byte ids do, so rows asked for in id order line up with the
 * batch and need not carry their id, a Buffer per row and the costliest column to hand to
 * JavaScript. The pack is the row's reference to it, for `packsBySeq`.
 */
async function rowsById<C extends BlobColumn>(
  db: Kysely<Database>,
  keyring: number,
  ids: readonly string[],
  columns: readonly C[],
): Promise<Map<string, BlobRow<C>>> {
  const found = new Map<string, BlobRow<C>>();
  for (const batch of slices([...new Set(ids)].sort(), ID_BATCH)) {
    const query = db
      .selectFrom('blobs')
      .select(columns as readonly BlobColumn[])
      .where('keyring', '=', keyring)
      .where('id', 'in', idBytes(batch))
      .orderBy('id');
    // Kysely types a dynamic column list as every column: the rows hold just `columns`.
    const rows = (await query.execute()) as unknown as BlobRow<C>[];
    if (rows.length === batch.length) {
      rows.forEach((row, i) => found.set(batch[i]!, row));
      continue;
    }
    // Some are not indexed: only their ids tell which.
    for (const { id, ...row } of await query.select('id').execute()) {
      found.set(id.toString('hex'), row as unknown as BlobRow<C>);
    }
  }
  return found;
}

interface PackRef {
  name: string;
  size: number;
  state: PackState;
}

/** The packs `rows` point at, by their reference. */
async function packsBySeq(
  db: Kysely<Database>,
  rows: Iterable<{ pack: number }>,
): Promise<Map<number, PackRef>> {
  const packs = new Map<number, PackRef>();
  const seqs = [...new Set(Array.from(rows, (row) => row.pack))];
  for (const batch of slices(seqs, ID_BATCH)) {
    const found = await db
      .selectFrom('packs')
      .select(['seq', 'name', 'size', 'state'])
      .where('seq', 'in', batch)
      .execute();
    for (const { seq, ...pack } of found) packs.set(seq, pack);
  }
  return packs;
}

/**
 * Where each of `ids` (hex) is, in the order of `ids`, or undefined for an id not indexed; the
 * lean `lookup` for the locate route, which answers for tens of thousands of ids per request
 * (without the join and the columns it leaves out, 4.8 µs an id, not 8.7).
 */
export async function locate(
  db: Kysely<Database>,
  keyringId: string,
  ids: readonly string[],
): Promise<(Placement | undefined)[]> {
  const keyring = ids.length === 0 ? undefined : await findKeyringRef(db, keyringId);
  if (keyring === undefined) return ids.map(() => undefined);
  const found = await rowsById(db, keyring, ids, ['pack', 'offset', 'length', 'type']);
  const packs = await packsBySeq(db, found.values());
  return ids.map((id) => {
    const row = found.get(id);
    const pack = row && packs.get(row.pack);
    // A blob whose pack has no row is not indexed, as the join in `lookup` has it.
    return pack === undefined
      ? undefined
      : { pack: pack.name, offset: row!.offset, length: row!.length, type: row!.type };
  });
}

/** What the closure walk needs of a blob (the fields as in BlobLocation). */
export type ClosureRow = Pick<
  BlobLocation,
  'pack' | 'packSize' | 'packState' | 'offset' | 'type' | 'closed' | 'condemnedAt'
>;

/**
 * The indexed blobs among `ids` (hex) by id, for the closure walk, which looks up every blob
 * of a new point: the lean `lookup`, without the join, the id column and the placement.
 */
export async function closureRows(
  db: Kysely<Database>,
  keyringId: string,
  ids: readonly string[],
): Promise<Map<string, ClosureRow>> {
  const out = new Map<string, ClosureRow>();
  const keyring = ids.length === 0 ? undefined : await findKeyringRef(db, keyringId);
  if (keyring === undefined) return out;
  const columns = ['pack', 'offset', 'type', 'closed', 'condemned_at'] as const;
  const found = await rowsById(db, keyring, ids, columns);
  const packs = await packsBySeq(db, found.values());
  for (const [id, row] of found) {
    const pack = packs.get(row.pack);
    if (pack === undefined) continue;
    out.set(id, {
      pack: pack.name,
      packSize: pack.size,
      packState: pack.state,
      offset: row.offset,
      type: row.type,
      closed: row.closed,
      condemnedAt: row.condemned_at ?? null,
    });
  }
  return out;
}
