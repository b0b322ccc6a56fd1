/**
 * @module chunker/fastcdc
 * `fastcdc-gear32-v1` content-defined chunking (docs/format.md §8): a keyed 32-bit gear hash
 * with FastCDC's cut-point skipping and one mask. Bounded memory over a stream: at most `2·max` bytes held.
 */
import { createHmac } from 'node:crypto';
import type { ChunkerParams } from './params.js';
import { validateChunkerParams } from './params.js';

/**
 * The keyring's 256-entry gear table, derived from its id key. Held as int32 so the hot loop
 * stays in small-integer arithmetic (the bits are those of the spec's u32 values).
 */
export function gearTable(idKey: Buffer): Int32Array {
  const bytes = Buffer.alloc(1024);
  for (let j = 0; j < 32; j++) {
    createHmac('sha256', idKey)
      .update(Buffer.concat([Buffer.from('coffer/chunker/gear/v1'), Buffer.from([j])]))
      .digest()
      .copy(bytes, j * 32);
  }
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) table[i] = bytes.readInt32LE(4 * i);
  return table;
}

/** The cut mask: the top `log2(avg) − 1` bits of 32 (docs/format.md §8). */
export function cutMask(avg: number): number {
  const bits = Math.round(Math.log2(avg)) - 1;
  return bits <= 0 ? 0 : (0xffffffff << (32 - bits)) | 0;
}

/** Length of the next chunk of `buf[start..end)` per the cut-point rule of §8. */
export function findCutPoint(
  gear: Int32Array,
  params: ChunkerParams,
  buf: Uint8Array,
  start: number,
  end: number,
  mask = cutMask(params.avg),
): number {
  const n = end - start;
  if (n <= params.min) return n;
  const limit = start + Math.min(n, params.max);
  let h = 0;
  let i = start + params.min;
  // h is kept as an int32: (h << 1) + g wraps exactly like the spec's mod 2^32. Four bytes per
  // iteration: fewer loop checks make this hot loop about a quarter faster.
  for (; i + 4 <= limit; i += 4) {
    h = ((h << 1) + gear[buf[i]!]!) | 0;
    if ((h & mask) === 0) return i + 1 - start;
    h = ((h << 1) + gear[buf[i + 1]!]!) | 0;
    if ((h & mask) === 0) return i + 2 - start;
    h = ((h << 1) + gear[buf[i + 2]!]!) | 0;
    if ((h & mask) === 0) return i + 3 - start;
    h = ((h << 1) + gear[buf[i + 3]!]!) | 0;
    if ((h & mask) === 0) return i + 4 - start;
  }
  for (; i < limit; i++) {
    h = ((h << 1) + gear[buf[i]!]!) | 0;
    if ((h & mask) === 0) return i + 1 - start;
  }
  return limit - start;
}

/**
 * Cuts a stream into chunks. `push` returns the chunks completed so far; `finish` the rest.
 * Every returned chunk is its own Buffer, never overwritten by later pushes.
 */
export class StreamChunker {
  private buf: Buffer;
  private start = 0;
  private end = 0;
  private readonly mask: number;

  constructor(
    private readonly gear: Int32Array,
    private readonly params: ChunkerParams,
  ) {
    validateChunkerParams(params);
    this.buf = Buffer.allocUnsafe(0);
    this.mask = cutMask(params.avg);
  }

  private append(data: Uint8Array): void {
    if (this.end + data.length > this.buf.length) {
      const held = this.end - this.start;
      if (held + data.length <= this.buf.length) {
        // Chunks already returned are copies, so the held bytes can move to the front.
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        // Grow geometrically up to 2·max, so a small file never costs a 16 MiB buffer.
        const want = held + data.length;
        const next = Buffer.allocUnsafeSlow(
          Math.max(want, Math.min(2 * want, 2 * this.params.max)),
        );
        this.buf.copy(next, 0, this.start, this.end);
        this.buf = next;
      }
      this.start = 0;
      this.end = held;
    }
    this.buf.set(data, this.end);
    this.end += data.length;
  }

  private cut(final: boolean): Buffer[] {
    const out: Buffer[] = [];
    // A cut over fewer than `max` bytes may depend on bytes still to come, except at the end.
    while (this.end - this.start >= (final ? 1 : this.params.max)) {
      const length = findCutPoint(
        this.gear,
        this.params,
        this.buf,
        this.start,
        this.end,
        this.mask,
      );
      out.push(Buffer.from(this.buf.subarray(this.start, this.start + length)));
      this.start += length;
    }
    return out;
  }

  /** Adds bytes; returns the chunks that are now complete. */
  push(data: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    let offset = 0;
    // Feed at most `max` bytes at a time so the buffer never holds more than 2·max.
    while (offset < data.length) {
      const take = Math.min(data.length - offset, this.params.max);
      this.append(data.subarray(offset, offset + take));
      offset += take;
      out.push(...this.cut(false));
    }
    return out;
  }

  /** Returns the remaining chunks at the end of the stream. */
  finish(): Buffer[] {
    const out = this.cut(true);
    this.buf = Buffer.allocUnsafe(0);
    this.start = this.end = 0;
    return out;
  }
}

/** Chunks an async byte stream. */
export async function* chunkStream(
  source: AsyncIterable<Uint8Array>,
  gear: Int32Array,
  params: ChunkerParams,
): AsyncGenerator<Buffer> {
  const chunker = new StreamChunker(gear, params);
  for await (const data of source) yield* chunker.push(data);
  yield* chunker.finish();
}
