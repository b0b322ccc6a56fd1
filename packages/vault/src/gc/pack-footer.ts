/**
 * @module gc/pack-footer
 * The blob ids a stored pack's footer lists (docs/format.md §5), read from the pack's tail with
 * core's parser. GC finds a pack's blob rows through them instead of an index of blobs by pack:
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
} from '@coffer/core';
import type { BlobStore } from '@coffer/storage';
import { InvalidRangeError } from '@coffer/storage';

/**
 * The ids the footer of the pack stored at `key` lists, in footer order (a footer may repeat
 * one). `size` is the pack's recorded size: the trailer is read at its end, and the footer must
 * account for exactly the bytes before it. Throws what the store or the parser throws.
 */
export async function readFooterIds(
  store: BlobStore,
  key: string,
  size: number,
): Promise<Buffer[]> {
  if (size < PACK_TRAILER_LENGTH) throw new FormatError('pack', 'too short for a trailer');
  const trailer = await store.getRange(key, size - PACK_TRAILER_LENGTH, PACK_TRAILER_LENGTH);
  const { footerLength, footerHash } = readPackTrailer(trailer, size);
  const footer = await store.getRange(key, size - PACK_TRAILER_LENGTH - footerLength, footerLength);
  return parsePackFooter(footer, footerHash, size).map((e) => e.id);
}

/**
 * True when `error`, thrown by {@link readFooterIds}, says the footer is not there as recorded
 * (file gone or short, trailer or footer malformed or failing its hash); false for failures
 * that say nothing about the pack, such as a store that cannot be reached.
 */
export function footerUnreadable(error: unknown): boolean {
  return (
    error instanceof NotFoundError ||
    error instanceof InvalidRangeError ||
    error instanceof FormatError ||
    error instanceof IntegrityError
  );
}
