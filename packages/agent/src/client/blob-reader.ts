/**
 * @module client/blob-reader
 * Reads and opens blobs of one agent's keyring from the vault: locates ids in batches, fetches
 * neighbouring blobs of a pack in one ranged read, and checks every blob as it opens it.
 */
import type { BlobLocation } from '@coffer/api';
import { CofferError, IntegrityError, openBlob, type BlobType } from '@coffer/core';
import { Limiter } from '../limiter.js';
import { OpenPool, type OpenItem } from './open-pool.js';
import type { VaultClient } from './vault-client.js';

/** Most bytes fetched by one ranged read when coalescing neighbouring blobs. */
const MAX_COALESCED = 8 * 1024 * 1024;
/** Largest gap between two wanted blobs that is still read through rather than split. */
const MAX_GAP = 256 * 1024;
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
}

/** Groups locations into coalesced ranged reads, keeping the order of first appearance. */
export function planReads(locations: readonly BlobLocation[]): ReadPlan[] {
  const plans: ReadPlan[] = [];
  let current: ReadPlan | undefined;
  for (const loc of locations) {
    if (
      current &&
      current.pack === loc.pack &&
      loc.offset >= current.offset + current.length &&
      loc.offset - (current.offset + current.length) <= MAX_GAP &&
      loc.offset + loc.length - current.offset <= MAX_COALESCED
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

/** Reads blobs of agent `agentId`, opened with `keys`. */
export class BlobReader {
  private readonly locations = new Map<string, BlobLocation>();
  private readonly reads = new Limiter(READS_IN_FLIGHT);
  private pool: OpenPool | undefined;

  constructor(
    private readonly client: VaultClient,
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

  /** Where a located blob is. */
  location(hex: string): BlobLocation | undefined {
    return this.locations.get(hex);
  }

  /** Reads and opens one blob. */
  async read(hex: string, type: BlobType): Promise<Buffer> {
    const missing = await this.locate([hex]);
    if (missing.length > 0) throw new MissingBlobError(hex);
    const loc = this.locations.get(hex)!;
    const sealed = await this.client.readRange(this.agentId, loc.pack, loc.offset, loc.length);
    return this.open(loc, type, sealed);
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
   * writes it into the given file at the given positions and only its length is passed.
   */
  async readInOrder(
    hexIds: readonly string[],
    type: BlobType,
    onBlob: (hex: string, plaintext: Buffer | Error) => Promise<void> | void,
  ): Promise<void>;
  async readInOrder(
    hexIds: readonly string[],
    type: BlobType,
    onBlob: (hex: string, plaintext: number | Error) => Promise<void> | void,
    options: { keep: false; writeTo?: (hex: string) => WriteTarget },
  ): Promise<void>;
  async readInOrder(
    hexIds: readonly string[],
    type: BlobType,
    onBlob: (hex: string, plaintext: never) => Promise<void> | void,
    options: { keep: boolean; writeTo?: (hex: string) => WriteTarget } = { keep: true },
  ): Promise<void> {
    const locations = hexIds.map((hex) => {
      const loc = this.locations.get(hex);
      if (!loc) throw new MissingBlobError(hex);
      return loc;
    });
    const plans = planReads(locations);
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
    const bytes = await this.client.readRange(this.agentId, plan.pack, plan.offset, plan.length);
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
    const opened = await this.pool.open(bytes, items, options.keep);
    let k = 0;
    return results.map((r) => (r instanceof Error ? r : opened[k++]!));
  }
}
