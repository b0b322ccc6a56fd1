/**
 * @module memory/memory-blob-store
 * A BlobStore in memory, for tests.
 */
import { AlreadyExistsError, NotFoundError } from '@coffer/core';
import {
  chunksOf,
  InvalidRangeError,
  validateKey,
  type BlobInfo,
  type BlobStore,
  type PutOptions,
} from '../blob-store.js';

/** Objects held in a Map. */
export class MemoryBlobStore implements BlobStore {
  private readonly objects = new Map<string, { data: Buffer; modified: Date }>();

  /** @inheritdoc */
  async put(
    key: string,
    data: AsyncIterable<Uint8Array> | Uint8Array,
    options: PutOptions = {},
  ): Promise<{ size: number }> {
    validateKey(key);
    const parts: Buffer[] = [];
    for await (const chunk of chunksOf(data)) parts.push(Buffer.from(chunk));
    if (options.ifAbsent && this.objects.has(key)) throw new AlreadyExistsError(`${key} exists`);
    const buffer = Buffer.concat(parts);
    this.objects.set(key, { data: buffer, modified: new Date() });
    return { size: buffer.length };
  }

  private object(key: string): { data: Buffer; modified: Date } {
    validateKey(key);
    const o = this.objects.get(key);
    if (!o) throw new NotFoundError(`${key} not found`);
    return o;
  }

  /** @inheritdoc */
  async get(key: string): Promise<AsyncIterable<Buffer>> {
    const { data } = this.object(key);
    return (async function* () {
      yield Buffer.from(data);
    })();
  }

  /** @inheritdoc */
  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    const { data } = this.object(key);
    if (offset < 0 || length < 0 || offset + length > data.length) {
      throw new InvalidRangeError(key, offset, length, data.length);
    }
    return Buffer.from(data.subarray(offset, offset + length));
  }

  /** @inheritdoc */
  async getRanges(key: string, ranges: readonly (readonly [number, number])[]): Promise<Buffer> {
    const { data } = this.object(key);
    for (const [offset, length] of ranges) {
      if (offset < 0 || length < 0 || offset + length > data.length) {
        throw new InvalidRangeError(key, offset, length, data.length);
      }
    }
    return Buffer.concat(ranges.map(([offset, length]) => data.subarray(offset, offset + length)));
  }

  /** @inheritdoc */
  async getBuffer(key: string): Promise<Buffer> {
    return Buffer.from(this.object(key).data);
  }

  /** @inheritdoc */
  async head(key: string): Promise<BlobInfo | undefined> {
    validateKey(key);
    const o = this.objects.get(key);
    return o ? { key, size: o.data.length, modified: o.modified } : undefined;
  }

  /** @inheritdoc */
  async *list(prefix: string): AsyncIterable<BlobInfo> {
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    for (const key of keys) {
      const o = this.objects.get(key);
      if (o) yield { key, size: o.data.length, modified: o.modified };
    }
  }

  /** @inheritdoc */
  async delete(key: string): Promise<boolean> {
    validateKey(key);
    return this.objects.delete(key);
  }
}
