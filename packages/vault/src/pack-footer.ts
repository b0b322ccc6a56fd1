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
  ID_LENGTH,
  IntegrityError,
  PACK_TRAILER_LENGTH,
  readPackTrailer,
  scanPackFooter,
  type PackEntry,
} from '@coffer/core';
import type { BlobStore } from '@coffer/storage';
import type { PackState } from './db/schema.js';
import { readFailure } from './pack-health.js';
import { packKey } from './pack-keys.js';

/** The footer of the pack stored at `key` (`size` bytes, as recorded) and its hash. */
async function fetchFooter(
  store: BlobStore,
  key: string,
  size: number,
): Promise<{ footer: Buffer; footerHash: Buffer }> {
  if (size < PACK_TRAILER_LENGTH) throw new FormatError('pack', 'too short for a trailer');
  const trailer = await store.getRange(key, size - PACK_TRAILER_LENGTH, PACK_TRAILER_LENGTH);
  const { footerLength, footerHash } = readPackTrailer(trailer, size);
  const footer = await store.getRange(key, size - PACK_TRAILER_LENGTH - footerLength, footerLength);
  return { footer, footerHash };
}

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
  const { footer, footerHash } = await fetchFooter(store, key, size);
  // Views of the footer, not copies: callers look the ids up and drop them.
  const view = (at: number): Buffer => footer.subarray(at, at + ID_LENGTH);
  const entries: PackEntry[] = [];
  scanPackFooter(footer, footerHash, size, (e) => {
    const { type, offset, length } = e;
    entries.push({ id: view(e.idAt), type, offset, length, refs: e.refsAt.map(view) });
  });
  return entries;
}

/**
 * The state of a pack whose footer {@link readFooter} could not read (file gone, short, or its
 * trailer or footer malformed or failing its hash), or undefined for failures that say nothing
 * about the pack, such as a store that cannot be reached.
 */
export function footerFailure(error: unknown): Exclude<PackState, 'ok'> | undefined {
  // A footer that is there but malformed or fails its hash is damage too.
  if (error instanceof FormatError || error instanceof IntegrityError) return 'damaged';
  return readFailure(error);
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
export const FOOTERS_AT_ONCE = 8;

/** A footer as read from the blob store, with what checks it. */
interface Footer {
  footer: Buffer;
  footerHash: Buffer;
  size: number;
}

/**
 * The refs of trees and manifests of one keyring, read from the footers of their packs. Keeps
 * the footers read last, up to `cacheBytes` of them, so a walk that comes back to a pack (the
 * next level of the same trees) does not fetch it again; each read copies out only the refs of
 * the rows asked for. (Keeping every tree's refs of a pack instead made a GC of 200,000 blobs,
 * whose repacked packs hold hundreds of trees each, allocate and drop a few hundred MB.)
 */
export class FooterRefs {
  /** Pack name → its footer; oldest first. */
  private readonly footers = new Map<string, Footer>();
  private bytes = 0;

  constructor(
    private readonly store: BlobStore,
    private readonly keyringId: string,
    private readonly cacheBytes = 16 * 1024 * 1024,
  ) {}

  /**
   * The refs of `rows`. A row whose footer cannot be read, or lists no such blob at the row's
   * offset, gets none, and its pack is named in `unreadable`. Throws failures that say nothing
   * about a pack.
   */
  async read(rows: readonly ParentRow[]): Promise<ParentRefs> {
    const result: ParentRefs = { refs: new Map(), unreadable: new Map() };
    const byPack = new Map<string, Map<number, ParentRow>>();
    for (const row of rows) {
      let wanted = byPack.get(row.pack);
      if (!wanted) byPack.set(row.pack, (wanted = new Map()));
      wanted.set(row.offset, row);
    }
    const packs = [...byPack];
    for (let i = 0; i < packs.length; i += FOOTERS_AT_ONCE) {
      await Promise.all(
        packs.slice(i, i + FOOTERS_AT_ONCE).map(async ([name, wanted]) => {
          const size = wanted.values().next().value!.packSize;
          try {
            this.extract(await this.footer(name, size), wanted, result.refs);
          } catch (error) {
            const state = footerFailure(error);
            if (!state) throw error;
            result.unreadable.set(name, state);
            return;
          }
          for (const row of wanted.values()) {
            if (!result.refs.has(row.id)) result.unreadable.set(name, 'damaged');
          }
        }),
      );
    }
    return result;
  }

  /** Copies out the refs of the `wanted` rows the footer lists where the rows say. */
  private extract(
    { footer, footerHash, size }: Footer,
    wanted: ReadonlyMap<number, ParentRow>,
    into: Map<string, Buffer>,
  ): void {
    scanPackFooter(footer, footerHash, size, (e) => {
      const row = wanted.get(e.offset);
      if (!row || e.type === 1 || footer.toString('hex', e.idAt, e.idAt + ID_LENGTH) !== row.id) {
        return;
      }
      const refs = Buffer.allocUnsafe(e.refsAt.length * ID_LENGTH);
      e.refsAt.forEach((at, j) => footer.copy(refs, j * ID_LENGTH, at, at + ID_LENGTH));
      into.set(row.id, refs);
    });
  }

  /** The footer of pack `name`, from the cache or the blob store. */
  private async footer(name: string, size: number): Promise<Footer> {
    const cached = this.footers.get(name);
    if (cached) return cached;
    const read = { ...(await fetchFooter(this.store, packKey(this.keyringId, name), size)), size };
    this.footers.set(name, read);
    this.bytes += read.footer.length;
    for (const [oldest, dropped] of this.footers) {
      if (this.bytes <= this.cacheBytes) break;
      this.footers.delete(oldest);
      this.bytes -= dropped.footer.length;
    }
    return read;
  }
}
