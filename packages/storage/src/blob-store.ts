/**
 * @module blob-store
 * The one interface every storage backend implements.
 *
 * Contract:
 * - Keys are `/`-separated segments of `[A-Za-z0-9._-]`, no empty, `.` or `..` segment, at most
 *   512 characters; see {@link validateKey}.
 * - `put` is atomic and durable: once it resolves, readers see the whole object and it survives
 *   a crash; before that they see nothing. If the source fails, nothing is stored.
 * - Reads are consistent with completed writes. A missing key is a NotFoundError; a range past
 *   the end is an InvalidRangeError; a short read is an error, never silent.
 * - A write that finds no space (or quota) left fails with a StorageFullError and stores nothing.
 */
import { CofferError } from '@coffer/core';

export interface BlobInfo {
  key: string;
  size: number;
  modified: Date;
}

export interface PutOptions {
  /** Refuse (AlreadyExistsError) when the key exists; exactly one of racing puts wins. */
  ifAbsent?: boolean;
}

export interface BlobStore {
  /** Stores `data` under `key` atomically; resolves once it is durable. */
  put(
    key: string,
    data: AsyncIterable<Uint8Array> | Uint8Array,
    options?: PutOptions,
  ): Promise<{ size: number }>;
  /** Streams the whole object. */
  get(key: string): Promise<AsyncIterable<Buffer>>;
  /** Exactly `length` bytes from `offset`. */
  getRange(key: string, offset: number, length: number): Promise<Buffer>;
  /**
   * The bytes of several ranges (`[offset, length]`), one after the other, without the bytes
   * between them: a pack's trees lie far apart, between its files' data.
   */
  getRanges(key: string, ranges: readonly (readonly [number, number])[]): Promise<Buffer>;
  /** The whole object in memory (small objects only). */
  getBuffer(key: string): Promise<Buffer>;
  /** Size and time of an object, or undefined when absent. */
  head(key: string): Promise<BlobInfo | undefined>;
  /** Objects whose key starts with `prefix`, sorted by key. */
  list(prefix: string): AsyncIterable<BlobInfo>;
  /** Deletes an object; false when it was absent. */
  delete(key: string): Promise<boolean>;
}

/** A read beyond the end of an object. */
export class InvalidRangeError extends CofferError {
  constructor(key: string, offset: number, length: number, size: number) {
    super('INVALID_RANGE', `${key}: range ${offset}+${length} is beyond its ${size} bytes`);
  }
}

/**
 * The store has no space or quota left; nothing was stored. Not transient: the same write fails
 * until space is freed, and what the store already holds is unharmed.
 */
export class StorageFullError extends CofferError {
  constructor(key: string, options?: { cause?: unknown }) {
    super(
      'STORAGE_FULL',
      `the vault's storage is full (writing ${key}); free space on the vault's disk or ask its operator to, then try again`,
      options,
    );
  }
}

/** True for the errno codes of a full disk or an exhausted quota. */
export function isNoSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

const SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Refuses keys outside the contract (path tricks, odd characters). */
export function validateKey(key: string): void {
  const ok =
    key.length > 0 &&
    key.length <= 512 &&
    key.split('/').every((s) => SEGMENT.test(s) && s !== '.' && s !== '..');
  if (!ok)
    throw new CofferError(
      'INVALID_KEY',
      `invalid blob store key ${JSON.stringify(key.slice(0, 600))}`,
    );
}

/** Collects an async or whole source into chunks, for adapters that need it. */
export async function* chunksOf(
  data: AsyncIterable<Uint8Array> | Uint8Array,
): AsyncGenerator<Uint8Array> {
  if (data instanceof Uint8Array) yield data;
  else yield* data;
}
