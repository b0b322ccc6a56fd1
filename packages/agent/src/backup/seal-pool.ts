/**
 * @module backup/seal-pool
 * Seals blobs on worker threads, one per core beyond the walking thread. Without a built worker
 * file (running from TypeScript sources in unit tests) it seals on the calling thread.
 */
import { sealBlob, type BlobType } from '@coffer/core';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SealRequest, SealResponse } from './seal-worker.js';

interface Pending {
  resolve(sealed: Buffer): void;
  reject(error: Error): void;
}

/** A pool of sealing threads. */
export class SealPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly load: number[] = [];
  private seq = 0;

  constructor(
    private readonly keys: { encryptionKey: Buffer },
    size = Math.max(1, availableParallelism()),
  ) {
    const url = new URL('./seal-worker.js', import.meta.url);
    if (!existsSync(fileURLToPath(url))) return;
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url, { workerData: { encryptionKey: keys.encryptionKey } });
      worker.on('message', (message: SealResponse) => this.settle(i, message));
      worker.on('error', (error) => this.failAll(error));
      this.workers.push(worker);
      this.load.push(0);
    }
  }

  /** Number of sealing threads (0: sealing runs on the caller's thread). */
  get size(): number {
    return this.workers.length;
  }

  private settle(index: number, message: SealResponse): void {
    this.load[index]!--;
    const pending = this.pending.get(message.seq);
    if (!pending) return;
    this.pending.delete(message.seq);
    if ('error' in message) pending.reject(new Error(message.error));
    else
      pending.resolve(
        Buffer.from(message.sealed.buffer, message.sealed.byteOffset, message.sealed.byteLength),
      );
  }

  private failAll(error: Error): void {
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }

  /** Seals `plaintext`; ownership of its memory passes to the pool. */
  seal(type: BlobType, id: Buffer, plaintext: Buffer): Promise<Buffer> {
    if (this.workers.length === 0) {
      return Promise.resolve(sealBlob(this.keys, type, id, plaintext));
    }
    let index = 0;
    for (let i = 1; i < this.load.length; i++) if (this.load[i]! < this.load[index]!) index = i;
    this.load[index]!++;
    const seq = this.seq++;
    // Transfer the chunk's memory when it owns a whole ArrayBuffer, else copy it once.
    const owned =
      plaintext.byteOffset === 0 && plaintext.buffer.byteLength === plaintext.byteLength
        ? plaintext
        : new Uint8Array(plaintext);
    const request: SealRequest = { seq, type, id, plaintext: owned };
    return new Promise<Buffer>((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.workers[index]!.postMessage(request, [owned.buffer as ArrayBuffer]);
    });
  }

  /** Stops the threads. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
