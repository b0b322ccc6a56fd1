/**
 * @module encoding/fields
 * Tagged-field bodies shared by trees and manifests (docs/format.md §6): fields in strictly
 * ascending tag order, defaults omitted, unknown tags skipped, repeats rejected.
 */
import { ByteReader, ByteWriter } from './varint.js';

/** Writes `tag | length | value` fields; tags must ascend. */
export class FieldWriter {
  private readonly w = new ByteWriter();
  private last = 0;

  private open(tag: number): void {
    if (tag <= this.last) throw new RangeError(`field tag ${tag} after ${this.last}`);
    this.last = tag;
    this.w.uvarint(tag);
  }

  /** A uvarint field, omitted when 0. */
  uint(tag: number, value: number | bigint): this {
    if (value === 0 || value === 0n) return this;
    this.open(tag);
    const v = new ByteWriter(10).uvarint(value).finish();
    this.w.bytes(v);
    return this;
  }

  /** An svarint field, omitted when 0. */
  sint(tag: number, value: bigint): this {
    if (value === 0n) return this;
    this.open(tag);
    this.w.bytes(new ByteWriter(10).svarint(value).finish());
    return this;
  }

  /** A raw-bytes field, omitted when absent or empty (unless `always`). */
  raw(tag: number, value: Uint8Array | undefined, always = false): this {
    if (value === undefined || (value.length === 0 && !always)) return this;
    this.open(tag);
    this.w.bytes(value);
    return this;
  }

  /** The body. */
  finish(): Buffer {
    return this.w.finish();
  }
}

/** Reads the fields of one body in order; `next` returns undefined at the end. */
export class FieldReader {
  private readonly r: ByteReader;
  private last = 0;

  constructor(
    bytes: Uint8Array,
    private readonly what: string,
  ) {
    this.r = new ByteReader(bytes, what);
  }

  /** The next field's tag and value, or undefined at the end of the body. */
  next(): { tag: number; value: Uint8Array } | undefined {
    if (this.r.remaining === 0) return undefined;
    const tag = this.r.uvarint();
    if (tag <= this.last)
      this.r.fail(`field tag ${tag} repeats or goes backwards (after ${this.last})`);
    this.last = tag;
    const value = this.r.bytes(this.r.remaining);
    return { tag, value };
  }

  /** Reads a whole value as a uvarint (safe integer). */
  uint(value: Uint8Array): number {
    const r = new ByteReader(value, this.what);
    const v = r.uvarint();
    if (r.remaining !== 0) r.fail('trailing bytes in an integer field');
    return v;
  }

  /** Reads a whole value as an svarint. */
  sint(value: Uint8Array): bigint {
    const r = new ByteReader(value, this.what);
    const v = r.svarint();
    if (r.remaining !== 0) r.fail('trailing bytes in an integer field');
    return v;
  }

  /** Throws a FormatError about this body. */
  fail(message: string): never {
    return this.r.fail(message);
  }
}
