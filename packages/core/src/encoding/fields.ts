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
    this.w.prefixedUvarint(value);
    return this;
  }

  /** An svarint field, omitted when 0. */
  sint(tag: number, value: bigint): this {
    if (value === 0n) return this;
    this.open(tag);
    this.w.prefixedSvarint(value);
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

/**
 * Reads the fields of one body in order, in place: a tree holds a dozen fields per entry, and
 * a view (a Buffer) per field cost a third of decoding one.
 */
export class FieldReader {
  private readonly r: ByteReader;
  private last = 0;
  private start = 0;
  private end = 0;
  /** The current field's tag (once `next` returned true). */
  tag = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
    start = 0,
    end = bytes.length,
  ) {
    this.r = new ByteReader(bytes, what, start, end);
  }

  /** Moves to the next field; false at the end of the body. */
  next(): boolean {
    if (this.r.remaining === 0) return false;
    const tag = this.r.uvarint();
    if (tag <= this.last)
      this.r.fail(`field tag ${tag} repeats or goes backwards (after ${this.last})`);
    this.last = tag;
    this.tag = tag;
    this.start = this.r.skip(this.r.remaining);
    this.end = this.r.offset;
    return true;
  }

  /** The current field's value (a view). */
  value(): Uint8Array {
    return this.bytes.subarray(this.start, this.end);
  }

  /** Bytes in the current field's value. */
  get length(): number {
    return this.end - this.start;
  }

  /** A reader of the current field's value, whose errors name `what`. */
  reader(what: string): ByteReader {
    return new ByteReader(this.bytes, what, this.start, this.end);
  }

  /** Reads the current field's whole value as a uvarint (safe integer). */
  uint(): number {
    const r = new ByteReader(this.bytes, this.what, this.start, this.end);
    const v = r.uvarint();
    if (r.remaining !== 0) r.fail('trailing bytes in an integer field');
    return v;
  }

  /** Reads the current field's whole value as an svarint. */
  sint(): bigint {
    const r = new ByteReader(this.bytes, this.what, this.start, this.end);
    const v = r.svarint();
    if (r.remaining !== 0) r.fail('trailing bytes in an integer field');
    return v;
  }

  /** Throws a FormatError about this body. */
  fail(message: string): never {
    return this.r.fail(message);
  }
}
