/**
 * @module backup/uploader
 * Collects sealed blobs into packs and uploads several packs at once, waiting (backpressure)
 * when too many are in flight. Ids become "known" only once their pack is stored.
 */
import { PackWriter, idHex, type BlobType, type FinishedPack } from '@coffer/core';
import { IdSet } from './id-set.js';
import type { VaultClient } from '../client/vault-client.js';
import { Limiter } from '../limiter.js';
import type { KnownIds } from './known-ids.js';

/**
 * Largest piece of a pack handed to the connection at once: TLS encrypts a write whole, so one
 * write of a 16 MiB pack would hold a second copy of it until the socket took it.
 */
const UPLOAD_PIECE = 256 * 1024;

function* pieces(bytes: readonly Buffer[]): Generator<Buffer> {
  for (const b of bytes) {
    for (let at = 0; at < b.length; at += UPLOAD_PIECE) yield b.subarray(at, at + UPLOAD_PIECE);
  }
}

export interface UploadStats {
  packs: number;
  storedBytes: number;
}

/** Packs sealed blobs and uploads them with at most `inFlight` packs in the air. */
export class PackUploader {
  private readonly writer: PackWriter;
  private readonly running = new Set<Promise<void>>();
  private failure: unknown;
  private readonly adding = new Limiter(1);
  /** Ids reserved or added to a pack that is not stored yet. */
  private readonly pending = new IdSet();
  readonly stats: UploadStats = { packs: 0, storedBytes: 0 };

  constructor(
    private readonly client: VaultClient,
    private readonly known: KnownIds,
    private readonly inFlight = 3,
    targetSize?: number,
  ) {
    this.writer = new PackWriter(targetSize === undefined ? {} : { targetSize });
  }

  /** True when `id` is stored or on its way. */
  has(id: Buffer): boolean {
    return this.known.has(id) || this.pending.has(id);
  }

  /** Forgets that the vault holds `id` (it turned out unreadable), so it is uploaded again. */
  async forget(id: Buffer): Promise<void> {
    await this.known.remove([idHex(id)]);
  }

  /** Marks `id` as on its way before its sealed bytes exist, so it is sealed only once. */
  reserve(id: Buffer): void {
    this.pending.add(id);
  }

  /** Adds a sealed blob; may wait while too many packs are uploading. */
  async add(id: Buffer, type: BlobType, sealed: Buffer, refs?: readonly Buffer[]): Promise<void> {
    // One add at a time while a full pack waits for upload capacity, so that a pack never
    // grows past its target by more than one blob. Otherwise adding cannot wait, and runs at
    // once: a blob of a small file is cheaper to add than to queue.
    if (this.adding.idle) {
      this.append(id, type, sealed, refs);
      if (this.writer.full) await this.adding.run(() => this.cut());
      return;
    }
    await this.adding.run(async () => {
      this.append(id, type, sealed, refs);
      if (this.writer.full) await this.cut();
    });
  }

  private append(id: Buffer, type: BlobType, sealed: Buffer, refs?: readonly Buffer[]): void {
    this.throwIfFailed();
    this.pending.add(id);
    this.writer.add(id, type, sealed, refs);
  }

  /** Resolves once fewer than `inFlight` uploads run; undefined when that is so already. */
  ready(): Promise<void> | undefined {
    if (this.running.size < this.inFlight) {
      this.throwIfFailed();
      return undefined;
    }
    return this.waitReady();
  }

  private async waitReady(): Promise<void> {
    while (this.running.size >= this.inFlight) await Promise.race(this.running);
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private async cut(): Promise<void> {
    await this.ready();
    if (this.writer.count === 0) return;
    const pack = this.writer.finish();
    const task = this.upload(pack).catch((error: unknown) => {
      this.failure ??= error;
    });
    const tracked = task.finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }

  private async upload(pack: FinishedPack): Promise<void> {
    const ids = pack.entries.map((e) => e.id);
    await this.known.expect(ids);
    await this.client.uploadPack(pack.name, pack.size, () => pieces(pack.bytes));
    this.writer.recycle(pack);
    this.known.confirm(ids);
    for (const id of ids) this.pending.delete(id);
    this.stats.packs++;
    this.stats.storedBytes += pack.size;
  }

  /** Uploads what is left and waits for every upload; throws the first failure. */
  async flush(): Promise<void> {
    await this.adding.run(() => this.cut());
    while (this.running.size > 0) await Promise.race(this.running);
    this.throwIfFailed();
  }
}
