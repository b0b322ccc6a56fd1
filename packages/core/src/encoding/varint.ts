/**
 * @module encoding/varint
 * LEB128 varints and a bounded byte reader/writer shared by the pack footer, tree and manifest
 * codecs (docs/format.md §2). Decoding never reads past the input and rejects non-minimal forms,
 * so that every value has exactly one encoding.
 */
import { FormatError } from '../errors.js';

const MAX_U64 = (1n << 64n) - 1n;

/** The zigzag form of a signed 64-bit integer, as a uvarint carries it. */
function zigzag(value: bigint): bigint {
  if (value < -(1n << 63n) || value >= 1n << 63n) throw new RangeError(`svarint: ${value}`);
  return value >= 0n ? value << 1n : (-value << 1n) - 1n;
}

/** Appends values to a growing buffer; `finish()` returns the bytes written. */
export class ByteWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** Writes one byte. */
  u8(value: number): this {
    this.reserve(1);
    this.buf[this.len++] = value & 0xff;
    return this;
  }

  /** Writes a little-endian unsigned 32-bit integer. */
  u32le(value: number): this {
    this.reserve(4);
    this.buf.writeUInt32LE(value, this.len);
    this.len += 4;
    return this;
  }

  /** Writes an unsigned LEB128 varint (a safe integer or a bigint up to 2^64-1). */
  uvarint(value: number | bigint): this {
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`uvarint: ${value}`);
      this.reserve(8);
      while (value >= 0x80) {
        this.buf[this.len++] = (value % 0x80) | 0x80;
        value = Math.floor(value / 0x80);
      }
      this.buf[this.len++] = value;
      return this;
    }
    if (value < 0n || value > MAX_U64) throw new RangeError(`uvarint: ${value}`);
    this.reserve(10);
    // Two 32-bit halves as numbers: a BigInt operation per 7 bits made a file's times the
    // costliest part of encoding a tree entry.
    let lo = Number(value & 0xffffffffn);
    let hi = Number(value >> 32n);
    while (hi > 0 || lo >= 0x80) {
      this.buf[this.len++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | ((hi & 0x7f) << 25)) >>> 0;
      hi = hi >>> 7;
    }
    this.buf[this.len++] = lo;
    return this;
  }

  /**
   * Writes a uvarint preceded by its length in bytes, as a field value is (one length byte: a
   * uvarint is at most 10 bytes), without a buffer of its own.
   */
  prefixedUvarint(value: number | bigint): this {
    this.reserve(11);
    const at = this.len++;
    this.uvarint(value);
    this.buf[at] = this.len - at - 1;
    return this;
  }

  /** Writes a signed 64-bit integer as a zigzag-encoded uvarint. */
  svarint(value: bigint): this {
    return this.uvarint(zigzag(value));
  }

  /** Writes a zigzag-encoded svarint preceded by its length in bytes (see prefixedUvarint). */
  prefixedSvarint(value: bigint): this {
    return this.prefixedUvarint(zigzag(value));
  }

  /** Writes raw bytes. */
  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    return this;
  }

  /** Writes a uvarint length followed by the bytes. */
  bytes(bytes: Uint8Array): this {
    return this.uvarint(bytes.length).raw(bytes);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.len;
  }

  /** Returns a copy of the bytes written. */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

/** Reads values from a byte range; every read checks bounds and throws FormatError(what). */
export class ByteReader {
  private pos: number;

  constructor(
    private readonly buf: Uint8Array,
    private readonly what: string,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  /** Offset of the next byte to read. */
  get offset(): number {
    return this.pos;
  }

  /** Bytes left before the end of the range. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws a FormatError about this input. */
  fail(message: string): never {
    throw new FormatError(this.what, message);
  }

  private need(n: number): void {
    if (n > this.end - this.pos) this.fail(`truncated at offset ${this.pos} (need ${n} bytes)`);
  }

  /** Reads one byte. */
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  /** Reads a little-endian unsigned 32-bit integer. */
  u32le(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
  }

  /** Reads a minimal uvarint that must fit in a safe integer. */
  uvarint(): number {
    // Varints of up to seven bytes (49 bits) are exact in a double: tags, lengths, sizes and
    // modes are read without BigInt, which costs several times more per byte.
    const b = this.buf;
    let result = 0;
    let scale = 1;
    for (let p = this.pos; p < this.end && p - this.pos < 7; p++) {
      const byte = b[p]!;
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        const first = p === this.pos;
        this.pos = p + 1;
        if (byte === 0 && !first) this.fail('non-minimal varint');
        return result;
      }
      scale *= 0x80;
    }
    // Longer, or cut short: the general reader takes it from the start, with its errors.
    const v = this.uvarint64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`integer ${v} too large`);
    return Number(v);
  }

  /** Reads a minimal uvarint up to 2^64-1. */
  uvarint64(): bigint {
    // Gathered in two doubles, the first four bytes (28 bits) and the rest (at most 42 bits),
    // and joined as a bigint once rather than byte by byte.
    let low = 0;
    let high = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const byte = this.u8();
      if (i < 4) low += (byte & 0x7f) * scale;
      else high += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) this.fail('non-minimal varint');
        const result = i < 4 ? BigInt(low) : (BigInt(high) << 28n) | BigInt(low);
        if (result > MAX_U64) this.fail('varint overflows 64 bits');
        return result;
      }
      scale = i === 3 ? 1 : scale * 0x80;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** Reads a zigzag-encoded signed 64-bit integer. */
  svarint(): bigint {
    const z = this.uvarint64();
    return (z & 1n) === 0n ? z >> 1n : -((z + 1n) >> 1n);
  }

  /** Steps over `n` bytes; returns where they start. */
  pass(n: number): number {
    this.need(n);
    const start = this.pos;
    this.pos += n;
    return start;
  }

  /** Reads `n` raw bytes (a view, not a copy). */
  raw(n: number): Uint8Array {
    const start = this.pass(n);
    return this.buf.subarray(start, start + n);
  }

  /** Reads a uvarint length (at most `max`) and that many bytes. */
  bytes(max: number): Uint8Array {
    const start = this.skip(max);
    return this.buf.subarray(start, this.pos);
  }

  /**
   * Reads a uvarint length (at most `max`) and steps over that many bytes; returns where they
   * start. For a caller that reads them in place, without a view of its own.
   */
  skip(max: number): number {
    const n = this.uvarint();
    if (n > max) this.fail(`length ${n} exceeds limit ${max}`);
    this.need(n);
    const start = this.pos;
    this.pos += n;
    return start;
  }
}
