/**
 * @module client/blob-reader
 * Reads and opens blobs of one agent's keyring from the vault: locates ids in batches, fetches
 * neighbouring blobs of a pack in one ranged read, and checks every blob as it opens it.
 */
import type { BlobLocation, LocateResponse, PackCheckResponse } from '@coffer/api';
import { MAX_PACK_RANGES } from '@coffer/api/routes';
import { CofferError, IntegrityError, openBlob, type BlobType } from '@coffer/core';
import { createHash } from 'node:crypto';
import { Limiter } from '../limiter.js';
import { OpenPool, type OpenItem } from './open-pool.js';
import type { VaultClient } from './vault-client.js';

/** Most bytes fetched by one ranged read when coalescing neighbouring blobs. */
const MAX_COALESCED = 8 * 1024 * 1024;
/** Largest gap between two wanted blobs that is still read through rather than split. */
const MAX_GAP = 256 * 1024;
/** Ranges of a streamed pack handed to opening threads at once. */
const PACK_OPENS_IN_FLIGHT = 3;
/**
 * Most bytes of a streamed pack in one range. Its buffers are reused from range to range and
 * pack to pack, so a pack check holds at most PACK_OPENS_IN_FLIGHT + 1 of them; smaller than
 * a ranged read's, as there is no request per range to save.
 */
const PACK_RANGE = 2 * 1024 * 1024;
/** Ranged reads in flight (each up to MAX_COALESCED) per reader. */
const READS_IN_FLIGHT = 8;

export interface OpenKeys {
  encryptionKey: Buffer;
  idKey: Buffer;
}

/** An open file and the positions in it where a blob's plaintext goes. */
export type WriteTarget = NonNullable<OpenItem['writeTo']>;

/** A blob the vault does not have. */
export class MissingBlobError extends CofferError {
  constructor(readonly id: string) {
    super('BLOB_MISSING', `blob ${id} is not stored in the vault`);
  }
}

/** One ranged read and the blobs it covers. */
interface ReadPlan {
  pack: string;
  offset: number;
  length: number;
  blobs: BlobLocation[];
  /** Fetch only the blobs' own bytes, several ranges in one request (see planSparseReads). */
  sparse?: boolean;
}

/**
 * Groups locations into coalesced ranged reads of up to `maxLength` bytes (or one blob, if
 * larger), keeping the order of first appearance.
 */
export function planReads(
  locations: readonly BlobLocation[],
  maxLength = MAX_COALESCED,
): ReadPlan[] {
  const plans: ReadPlan[] = [];
  let current: ReadPlan | undefined;
  for (const loc of locations) {
    if (
      current &&
      current.pack === loc.pack &&
      loc.offset >= current.offset + current.length &&
      loc.offset - (current.offset + current.length) <= MAX_GAP &&
      loc.offset + loc.length - current.offset <= maxLength
    ) {
      current.length = loc.offset + loc.length - current.offset;
      current.blobs.push(loc);
      continue;
    }
    current = { pack: loc.pack, offset: loc.offset, length: loc.length, blobs: [loc] };
    plans.push(current);
  }
  return plans;
}

/** The vault calls a reader makes (a test can serve them from memory). */
export type ReaderClient = Pick<
  VaultClient,
  'locate' | 'readRange' | 'readRanges' | 'readPack' | 'checkPack'
>;

/**
 * Groups locations into reads of only the blobs' bytes: neighbours in one pack share a request
 * (up to MAX_COALESCED bytes and MAX_PACK_RANGES ranges) however far apart they are. For small
 * blobs scattered between large ones, such as a point's trees between its files' data.
 */
export function planSparseReads(locations: readonly BlobLocation[]): ReadPlan[] {
  const plans: ReadPlan[] = [];
  let current: ReadPlan | undefined;
  for (const loc of locations) {
    if (
      current &&
      current.pack === loc.pack &&
      current.blobs.length < MAX_PACK_RANGES &&
      current.length + loc.length <= MAX_COALESCED
    ) {
      current.length += loc.length;
      current.blobs.push(loc);
      continue;
    }
    current = { pack: loc.pack, offset: 0, length: loc.length, blobs: [loc], sparse: true };
    plans.push(current);
  }
  return plans;
}

/** Reads blobs of agent `agentId`, opened with `keys`. */
export class BlobReader {
  private readonly locations = new Map<string, BlobLocation>();
  /** Holders of located ids (see `hold`); an id's location is dropped when the last lets go. */
  private readonly holds = new Map<string, number>();
  private readonly reads = new Limiter(READS_IN_FLIGHT);
  /** Packs whose reads failed, with why: verify reports them to the vault. */
  readonly unreadable = new Map<string, string>();
  private pool: OpenPool | undefined;
  /** Spare range buffers of pack checks (see PACK_RANGE). */
  private readonly spareRanges: Buffer[] = [];
  /** Range buffers pack checks have allocated (a test bounds it). */
  rangeBuffersAllocated = 0;

  constructor(
    private readonly client: ReaderClient,
    private readonly agentId: string,
    private readonly keys: OpenKeys,
  ) {}

  /** Locates the ids not located yet; returns the ones the vault lacks. */
  async locate(hexIds: readonly string[]): Promise<string[]> {
    const wanted = [...new Set(hexIds.filter((id) => !this.locations.has(id)))];
    if (wanted.length === 0) return [];
    const result = await this.client.locate(this.agentId, wanted);
    for (const loc of result.locations) this.locations.set(loc.id, loc);
    return result.missing;
  }

  /**
   * Where the ids are, straight from the vault and not kept: a verify locates every blob of a
   * point once and keeps only what it needs of each answer, compactly.
   */
  lookUp(hexIds: string[]): Promise<LocateResponse> {
    return this.client.locate(this.agentId, hexIds);
  }

  /**
   * Marks ids as in use until `release`: a restore holds a directory's ids while it restores
   * the directory, so their locations (about 300 bytes each) are kept only that long, not for
   * the whole restore. Ids no one holds stay located as before.
   */
  hold(hexIds: readonly string[]): void {
    for (const id of hexIds) this.holds.set(id, (this.holds.get(id) ?? 0) + 1);
  }

  /** Lets go of ids held with `hold`; the last holder's release forgets their locations. */
  release(hexIds: readonly string[]): void {
    for (const id of hexIds) {
      const count = (this.holds.get(id) ?? 1) - 1;
      if (count > 0) this.holds.set(id, count);
      else {
        this.holds.delete(id);
        this.locations.delete(id);
      }
    }
  }

  /** Located ids sorted by pack and offset, so that neighbours coalesce into one read. */
  inStorageOrder(hexIds: readonly string[]): string[] {
    return hexIds
      .filter((hex) => this.locations.has(hex))
      .sort((a, b) => {
        const x = this.locations.get(a)!;
        const y = this.locations.get(b)!;
        return x.pack === y.pack ? x.offset - y.offset : x.pack < y.pack ? -1 : 1;
      });
  }

  /** Reports a pack that read as missing or damaged; the vault re-hashes it before it believes it. */
  reportPack(pack: string): Promise<PackCheckResponse> {
    return this.client.checkPack(this.agentId, pack);
  }

  /** Where a located blob is. */
  location(hex: string): BlobLocation | undefined {
    return this.locations.get(hex);
  }

  /** Reads and opens one blob. */
  async read(hex: string, type: BlobType): Promise<Buffer> {
    const missing = await this.locate([hex]);
    if (missing.length > 0) throw new MissingBlobError(hex);
    const loc = this.locations.get(hex)!;
    let sealed: Buffer;
    try {
      sealed = await this.client.readRange(this.agentId, loc.pack, loc.offset, loc.length);
    } catch (error) {
      if (error instanceof CofferError && !error.transient)
        this.unreadable.set(loc.pack, error.message);
      throw error;
    }
    try {
      return this.open(loc, type, sealed);
    } catch (error) {
      if (error instanceof IntegrityError) this.unreadable.set(loc.pack, error.message);
      throw error;
    }
  }

  private open(loc: BlobLocation, type: BlobType, sealed: Buffer): Buffer {
    if (loc.type !== type) {
      throw new IntegrityError(
        `blob ${loc.id}: the vault lists it as type ${loc.type}, expected ${type}`,
        {
          subject: loc.id,
        },
      );
    }
    return openBlob(this.keys, type, Buffer.from(loc.id, 'hex'), sealed);
  }

  /**
   * Reads blobs in the given order with coalesced ranged reads, calling `onBlob` in that order.
   * Several reads are in flight and blobs open on worker threads. Every id must have been
   * located. A blob that fails to open is passed as an error; with `keep: false` only its
   * plaintext length is passed (enough for a verify), and with `writeTo` the opening thread
   * writes it into the given file at the given positions and only its length is passed. With
   * `sparse`, only the blobs' own bytes are fetched (see planSparseReads).
   */
  async readInOrder(
    hexIds: readonly string[],
    type: BlobType,
    onBlob: (hex: string, plaintext: Buffer | Error) => Promise<void> | void,
    options?: { keep?: true; sparse?: boolean },
  ): Promise<void>;
  async readInOrder(
    hexIds: readonly string[],
    type: BlobType,
    onBlob: (hex: string, plaintext: number | Error) => Promise<void> | void,
    options: { keep: false; writeTo?: (hex: string) => WriteTarget; sparse?: boolean },
  ): Promise<void>;
  async readInOrder(
    hexIds: readonly string[],
    type: BlobType,
    onBlob: (hex: string, plaintext: never) => Promise<void> | void,
    readOptions: {
      keep?: boolean;
      writeTo?: (hex: string) => WriteTarget;
      sparse?: boolean;
    } = {},
  ): Promise<void> {
    const options = { keep: readOptions.keep !== false, writeTo: readOptions.writeTo };
    const locations = hexIds.map((hex) => {
      const loc = this.locations.get(hex);
      if (!loc) throw new MissingBlobError(hex);
      return loc;
    });
    const plans = readOptions.sparse ? planSparseReads(locations) : planReads(locations);
    // A place in `reads` is held from the fetch until the plan's blobs are handed over, so
    // opened plaintexts waiting for their turn count against the bound too.
    const started: Promise<(Buffer | number | Error)[]>[] = [];
    let next = 0;
    const startNext = (): void => {
      const plan = plans[next++]!;
      const task = (async () => {
        await this.reads.acquire();
        try {
          return await this.fetchAndOpen(plan, type, options);
        } catch (error) {
          this.reads.release();
          throw error;
        }
      })();
      // Awaited in order below; this only keeps an early failure from counting as unhandled.
      task.catch(() => undefined);
      started.push(task);
    };
    try {
      while (next < plans.length && started.length < READS_IN_FLIGHT) startNext();
      for (const plan of plans) {
        const results = await started.shift()!;
        try {
          if (next < plans.length) startNext();
          for (let i = 0; i < plan.blobs.length; i++) {
            await onBlob(plan.blobs[i]!.id, results[i] as never);
          }
        } finally {
          this.reads.release();
        }
      }
    } finally {
      // After a failure, give back the places of reads that were started but not handed over.
      for (const task of started.splice(0)) {
        await task.then(
          () => this.reads.release(),
          () => undefined,
        );
      }
    }
  }

  private async fetchAndOpen(
    plan: ReadPlan,
    type: BlobType,
    options: { keep: boolean; writeTo?: (hex: string) => WriteTarget },
  ): Promise<(Buffer | number | Error)[]> {
    let bytes: Buffer;
    try {
      bytes = plan.sparse
        ? await this.client.readRanges(
            this.agentId,
            plan.pack,
            plan.blobs.map((b) => [b.offset, b.length]),
          )
        : await this.client.readRange(this.agentId, plan.pack, plan.offset, plan.length);
    } catch (error) {
      // A pack the vault cannot serve fails only the blobs in it; an unreachable vault fails
      // the whole read.
      if (!(error instanceof CofferError) || error.transient) throw error;
      this.unreadable.set(plan.pack, error.message);
      return plan.blobs.map(() => error);
    }
    if (!plan.sparse) return this.openPlan(plan, bytes, type, options);
    // The blobs lie one after the other in `bytes`.
    let at = 0;
    const blobs = plan.blobs.map((b) => {
      const rebased = { ...b, offset: at };
      at += b.length;
      return rebased;
    });
    return this.openPlan({ ...plan, offset: 0, blobs }, bytes, type, options);
  }

  /** Opens the blobs of `plan` in `bytes`; `reuse` receives the bytes' memory once it is free. */
  private async openPlan(
    plan: ReadPlan,
    bytes: Buffer,
    type: BlobType,
    options: { keep: boolean; writeTo?: (hex: string) => WriteTarget },
    reuse?: (bytes: Buffer) => void,
  ): Promise<(Buffer | number | Error)[]> {
    const items: OpenItem[] = [];
    const results: (Buffer | number | Error)[] = [];
    for (const loc of plan.blobs) {
      if (loc.type !== type) {
        results.push(
          new IntegrityError(
            `blob ${loc.id}: the vault lists it as type ${loc.type}, expected ${type}`,
            { subject: loc.id },
          ),
        );
        continue;
      }
      results.push(0);
      const writeTo = options.writeTo?.(loc.id);
      items.push({
        id: loc.id,
        type,
        offset: loc.offset - plan.offset,
        length: loc.length,
        ...(writeTo ? { writeTo } : {}),
      });
    }
    this.pool ??= new OpenPool(this.keys);
    const { results: opened, bytes: spent } = await this.pool.open(bytes, items, options.keep);
    reuse?.(spent);
    let k = 0;
    return results.map((r) => {
      const result = r instanceof Error ? r : opened[k++]!;
      if (result instanceof IntegrityError) this.unreadable.set(plan.pack, result.message);
      return result;
    });
  }

  /**
   * Streams the whole of `pack`, checking its bytes against its name, and opens the blobs at
   * `locations` (all in that pack, in increasing offset order) as they pass, passing each one's plaintext length or
   * error to `onBlob`. Memory stays bounded: only the ranges holding wanted blobs are kept, a
   * few at a time. Returns why the pack does not match its name, or undefined when it does.
   */
  async checkPack(
    pack: string,
    locations: readonly BlobLocation[],
    type: BlobType,
    onBlob: (hex: string, opened: number | Error) => void,
  ): Promise<string | undefined> {
    const plans = planReads(locations, PACK_RANGE);
    const hash = createHash('sha256');
    const opening: Promise<void>[] = [];
    const deliver = (plan: ReadPlan, results: (Buffer | number | Error)[]): void => {
      plan.blobs.forEach((loc, i) => {
        const r = results[i]!;
        onBlob(loc.id, Buffer.isBuffer(r) ? r.length : r);
      });
    };
    let position = 0;
    let index = 0;
    let buffer: Buffer | undefined;
    let problem: string | undefined;
    try {
      for await (const chunk of await this.client.readPack(this.agentId, pack)) {
        hash.update(chunk);
        const end = position + chunk.length;
        while (index < plans.length && plans[index]!.offset < end) {
          const plan = plans[index]!;
          buffer ??= this.rangeBuffer(plan.length);
          const from = Math.max(plan.offset, position);
          const to = Math.min(plan.offset + plan.length, end);
          chunk.copy(buffer, from - plan.offset, from - position, to - position);
          if (to < plan.offset + plan.length) break;
          const bytes = buffer;
          buffer = undefined;
          index++;
          opening.push(
            this.openPlan(plan, bytes, type, { keep: false }, (spent) =>
              this.spareRange(spent),
            ).then((r) => deliver(plan, r)),
          );
          // Bounded: at most a few ranges wait for a thread (one per thread keeps them busy).
          if (opening.length >= PACK_OPENS_IN_FLIGHT) await opening.shift();
        }
        position = end;
      }
      const name = hash.digest('hex');
      if (name !== pack) problem = `pack ${pack}: its bytes hash to ${name} (the pack is damaged)`;
    } catch (error) {
      if (!(error instanceof CofferError) || error.transient) {
        await Promise.allSettled(opening);
        throw error;
      }
      problem = error.message;
    } finally {
      await Promise.all(opening);
    }
    if (problem === undefined && index < plans.length) {
      problem = `pack ${pack}: it ends at byte ${position}, before blobs it should hold`;
    }
    if (buffer) this.spareRange(buffer);
    if (problem !== undefined) {
      this.unreadable.set(pack, problem);
      const failure = new IntegrityError(problem, { subject: pack });
      for (const plan of plans.slice(index))
        deliver(
          plan,
          plan.blobs.map(() => failure),
        );
    }
    return problem;
  }

  /** A buffer for a range of a streamed pack: a spare one if it is large enough. */
  private rangeBuffer(length: number): Buffer {
    const at = this.spareRanges.findIndex((b) => b.length >= length);
    if (at >= 0) return this.spareRanges.splice(at, 1)[0]!;
    this.rangeBuffersAllocated++;
    return Buffer.allocUnsafeSlow(Math.max(length, PACK_RANGE));
  }

  private spareRange(buffer: Buffer): void {
    if (buffer.length >= PACK_RANGE && this.spareRanges.length <= PACK_OPENS_IN_FLIGHT) {
      this.spareRanges.push(buffer);
    }
  }
}
