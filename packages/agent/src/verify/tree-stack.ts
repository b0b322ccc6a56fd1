/**
 * @module verify/tree-stack
 * The directories a verify has still to read: 40 bytes each (tree id and how many times the
 * point holds it) in one Buffer, taken last in first out so that it stays about as deep as the
 * tree rather than as wide as its widest level.
 */

const RECORD = 40;

/** A stack of tree ids with a count each. */
export class TreeStack {
  private bytes = Buffer.alloc(256 * RECORD);
  private count = 0;

  /** Entries on the stack. */
  get size(): number {
    return this.count;
  }

  /** Pushes tree `id`, which occurs `times` times at this place of the point. */
  push(id: Uint8Array, times: number): void {
    if ((this.count + 1) * RECORD > this.bytes.length) {
      const grown = Buffer.alloc(this.bytes.length * 2);
      this.bytes.copy(grown);
      this.bytes = grown;
    }
    const at = this.count * RECORD;
    this.bytes.set(id.subarray(0, 32), at);
    this.bytes.writeDoubleLE(times, at + 32);
    this.count++;
  }

  /** Takes up to `max` entries off the top: each hex id with its times added up. */
  take(max: number): Map<string, number> {
    const out = new Map<string, number>();
    while (this.count > 0 && out.size < max) {
      this.count--;
      const at = this.count * RECORD;
      const hex = this.bytes.toString('hex', at, at + 32);
      out.set(hex, (out.get(hex) ?? 0) + this.bytes.readDoubleLE(at + 32));
    }
    return out;
  }
}
