/**
 * @module ids
 * Blob ids and blob types shared by every codec (docs/format.md §1, §4).
 */
import { FormatError } from './errors.js';

/** Length in bytes of a blob id (HMAC-SHA256) and of a pack name (SHA-256). */
export const ID_LENGTH = 32;

/** The kinds of blob; the numbers are the header's type byte. */
export const BlobType = { data: 1, tree: 2, manifest: 3 } as const;
export type BlobType = (typeof BlobType)[keyof typeof BlobType];

/** True when `n` is a known blob type byte. */
export function isBlobType(n: number): n is BlobType {
  return n === 1 || n === 2 || n === 3;
}

/** Lowercase hex of an id. */
export function idHex(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}

/** Parses 64 lowercase hex digits into a 32-byte id. */
export function parseIdHex(hex: string): Buffer {
  if (!/^[0-9a-f]{64}$/.test(hex))
    throw new FormatError('id', `not 64 lowercase hex digits: ${hex.slice(0, 80)}`);
  return Buffer.from(hex, 'hex');
}
