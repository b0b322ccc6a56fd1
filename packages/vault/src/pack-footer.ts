/**
 * @module pack-footer
 * What a stored pack's footer lists (docs/format.md §5), read from the pack's tail with core's
 * parser. The footers are the only copy of what trees and manifests refer to (migration 0011
 * dropped the index's copy, a third of its bytes): the closure walk and GC read them here. GC
 * also finds a pack's blob rows through its footer's ids instead of an index of blobs by pack:
 * a row is only ever indexed from the footer of the pack it points into (an upload, a repack),
 * so the footer's ids are a superset of the rows that point into the pack.
 */
import {
  FormatError,
  IntegrityError,
  NotFoundError,
  PACK_TRAILER_LENGTH,
  parsePackFooter,
  readPackTrailer,
  type PackEntry,
} from '@coffer/core';
import type { BlobStore } from '@coffer/storage';
import { InvalidRangeError } from '@coffer/storage';
import type { PackState } from './db/schema.js';
import { packKey } from './pack-keys.js';

/**
 * The entries the footer of the pack stored at `key` lists, in footer order (a footer may
 * repeat an id). `size` is the pack's recorded size: the trailer is read at its end, and the
 * footer must account for exactly the bytes before it. Throws what the store or the parser
 * throws.
 */
export async function readFooter(
  store: BlobStore,
  key: string,
  size: number,
): Promise<PackEntry[]> {
  if (size < PACK_TRAILER_LENGTH) throw new FormatError('pack', 'too short for a trailer');
  const trailer = await store.getRange(key, size - PACK_TRAILER_LENGTH, PACK_TRAILER_LENGTH);
  const { footerLength, footerHash } = readPackTrailer(trailer, size);
  const footer = await store.getRange(key, size - PACK_TRAILER_LENGTH - footerLength, footerLength);
  return parsePackFooter(footer, footerHash, size);
}

/**
 * The state of a pack whose footer {@link readFooter} could not read (file gone, short, or its
 * trailer or footer malformed or failing its hash), or undefined for failures that say nothing
 * about the pack, such as a store that cannot be reached.
 */
export function footerFailure(error: unknown): Exclude<PackState, 'ok'> | undefined {
  if (error instanceof NotFoundError) return 'missing';
  if (
    error instanceof InvalidRangeError ||
    error instanceof FormatError ||
    error instanceof IntegrityError
  ) {
    return 'damaged';
  }
  return undefined;
}

/** A tree or manifest row whose refs are wanted: where its pack's footer lists it. */
export interface ParentRow {
  /** Lowercase hex of the blob's id. */
  id: string;
  /** The name of the pack the row points into, and its recorded size. */
  pack: string;
  packSize: number;
  offset: number;
}

/** What {@link FooterRefs.read} found. */
export interface ParentRefs {
  /** The concatenated 32-byte ids each row refers to, by the row's id. */
  refs: Map<string, Buffer>;
  /** Packs whose footer could not be read (or does not list the row), with the state shown. */
  unreadable: Map<string, Exclude<PackState, 'ok'>>;
}

/** Footers read at once. */
const PARALLEL = 8;

/** A tree or manifest as its footer lists it, its refs in one Buffer. */
interface Parent {
  id: Buffer;
  refs: Buffer;
}

/**
 * The refs of trees and manifests of one keyring, read from the footers of their packs. Keeps
 * the refs of the last `cachePacks` footers read (a few hundred KiB each for packs of small
 * files: the refs in one Buffer per tree, not one per id), so a walk that comes back to a pack
 * (the next level of the same trees) reads it once.
 */
export class FooterRefs {
  /** Pack name → the offsets of its trees and manifests → them; oldest first. */
  private readonly packs = new Map<string, Map<number, Parent>>();

  constructor(
    private readonly store: BlobStore,
    private readonly keyringId: string,
    private readonly cachePacks = 32,
  ) {}

  /**
   * The refs of `rows`. A row whose footer cannot be read, or lists no such blob at the row's
   * offset, gets none, and its pack is named in `unreadable`. Throws failures that say nothing
   * about a pack.
   */
  async read(rows: readonly ParentRow[]): Promise<ParentRefs> {
    const result: ParentRefs = { refs: new Map(), unreadable: new Map() };
    const wanted = new Map<string, number>();
    for (const row of rows) if (!this.packs.has(row.pack)) wanted.set(row.pack, row.packSize);
    const names = [...wanted.keys()];
    const loaded = new Map<string, Map<number, Parent>>();
    for (let i = 0; i < names.length; i += PARALLEL) {
      await Promise.all(
        names.slice(i, i + PARALLEL).map(async (name) => {
          try {
            const entries = await readFooter(
              this.store,
              packKey(this.keyringId, name),
              wanted.get(name)!,
            );
            const parents = new Map<number, Parent>();
            for (const e of entries) {
              if (e.type !== 1) parents.set(e.offset, { id: e.id, refs: Buffer.concat(e.refs) });
            }
            loaded.set(name, parents);
          } catch (error) {
            const state = footerFailure(error);
            if (!state) throw error;
            result.unreadable.set(name, state);
          }
        }),
      );
    }
    for (const row of rows) {
      const entries = this.packs.get(row.pack) ?? loaded.get(row.pack);
      if (!entries) continue;
      const entry = entries.get(row.offset);
      if (entry && entry.id.toString('hex') === row.id) result.refs.set(row.id, entry.refs);
      else result.unreadable.set(row.pack, 'damaged');
    }
    for (const [name, entries] of loaded) this.remember(name, entries);
    return result;
  }

  private remember(name: string, entries: Map<number, Parent>): void {
    this.packs.set(name, entries);
    for (const oldest of this.packs.keys()) {
      if (this.packs.size <= this.cachePacks) break;
      this.packs.delete(oldest);
    }
  }
}
