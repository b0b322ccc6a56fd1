import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter } from '../src/encoding/varint.js';
import { FormatError } from '../src/errors.js';

describe('varint', () => {
  it('round-trips boundary values in minimal form', () => {
    const values = [0n, 1n, 127n, 128n, 16383n, 16384n, (1n << 63n) - 1n, (1n << 64n) - 1n];
    for (const v of values) {
      const bytes = new ByteWriter().uvarint(v).finish();
      expect(new ByteReader(bytes, 't').uvarint64()).toBe(v);
    }
    expect(new ByteWriter().uvarint(300).finish()).toEqual(Buffer.from([0xac, 0x02]));
  });

  it('writes a bigint exactly as LEB128 does, 7 bits at a time, across the 32-bit halves', () => {
    const reference = (v: bigint): number[] => {
      const out: number[] = [];
      for (; v >= 0x80n; v >>= 7n) out.push(Number(v & 0x7fn) | 0x80);
      return [...out, Number(v)];
    };
    const values = [0n, 0x7fn, 0xffffffffn, 1n << 32n, (1n << 35n) - 1n, 1n << 35n, 1n << 63n];
    for (let i = 0; i < 2000; i++)
      values.push(
        BigInt.asUintN(64, BigInt(Math.floor(Math.random() * 2 ** 53)) << BigInt(i % 12)),
      );
    values.push((1n << 64n) - 1n);
    for (const v of values) {
      expect([...new ByteWriter().uvarint(v).finish()], String(v)).toEqual(reference(v));
      const prefixed = new ByteWriter().prefixedUvarint(v).finish();
      expect([...prefixed], String(v)).toEqual([reference(v).length, ...reference(v)]);
    }
  });

  it('round-trips signed values through zigzag', () => {
    for (const v of [0n, -1n, 1n, -(1n << 63n), (1n << 63n) - 1n, -1_700_000_000_000_000_000n]) {
      const bytes = new ByteWriter().svarint(v).finish();
      expect(new ByteReader(bytes, 't').svarint()).toBe(v);
    }
  });

  it('rejects non-minimal, overlong and truncated varints', () => {
    expect(() => new ByteReader(Buffer.from([0x80, 0x00]), 't').uvarint()).toThrow(FormatError);
    expect(() => new ByteReader(Buffer.alloc(11, 0xff), 't').uvarint64()).toThrow(FormatError);
    expect(() => new ByteReader(Buffer.from([0x80]), 't').uvarint()).toThrow(FormatError);
    const over = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]);
    expect(() => new ByteReader(over, 't').uvarint64()).toThrow(FormatError);
  });

  it('bounds byte strings by the given limit and the input', () => {
    const bytes = new ByteWriter().bytes(Buffer.from('hello')).finish();
    expect(() => new ByteReader(bytes, 't').bytes(4)).toThrow(/exceeds limit/);
    expect(Buffer.from(new ByteReader(bytes, 't').bytes(5)).toString()).toBe('hello');
    expect(() => new ByteReader(bytes.subarray(0, 3), 't').bytes(10)).toThrow(/truncated/);
  });
});
