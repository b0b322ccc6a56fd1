/**
 * @module backup/id-set
 * A set of 32-byte ids held in one Buffer (open addressing, linear probing): 32 bytes per id
 * at a load of at most three quarters, where a Set of hex strings costs about 150 bytes per id and
 * one heap object each, which the garbage collector must trace on every full collection.
 * Ids are keyed MACs or hashes, so their first bytes are already uniformly spread.
 */

const ID_BYTES = 32;
const INITIAL_SLOTS = 1024;
/**
 * Most ids per slot before the table doubles. At one half, a backup of 1,000,000 files (and its
 * 62,500 trees) crossed 2^20 ids near its end and doubled to 128 MiB, 192 MiB during the copy,
 * the agent's peak; linear probing still settles most probes on the first four bytes at this
 * load.
 */
const MAX_LOAD = 0.75;

/** A growable hash set of 32-byte ids. */
export class IdSet {
  private table: Buffer;
  private mask: number;
  private count = 0;
  /** The all-zero id marks an empty slot, so it is kept aside. */
  private hasZero = false;

  constructor(expected = 0) {
    let slots = INITIAL_SLOTS;
    while (slots * MAX_LOAD < expected) slots *= 2;
    this.table = Buffer.alloc(slots * ID_BYTES);
    this.mask = slots - 1;
  }

  /** Ids in the set. */
  get size(): number {
    return this.count;
  }

  /** Bytes of its table: the memory it holds. */
  get bytes(): number {
    return this.table.length;
  }

  private static isZero(id: Uint8Array, at = 0): boolean {
    for (let i = 0; i < ID_BYTES; i++) if (id[at + i] !== 0) return false;
    return true;
  }

  /** The first four bytes of the id at `at`, as the probe starts from and compares them. */
  private static head(id: Uint8Array, at: number): number {
    return (id[at]! | (id[at + 1]! << 8) | (id[at + 2]! << 16) | (id[at + 3]! << 24)) >>> 0;
  }

  /** The slot holding `id`, or the empty slot where it would go. */
  private find(id: Uint8Array, at: number): number {
    const table = this.table;
    const head = IdSet.head(id, at);
    let slot = head & this.mask;
    for (;;) {
      const base = slot * ID_BYTES;
      // The first four bytes, read here, settle most probes without a call into Buffer.compare
      // or a scan for the empty slot.
      const there = IdSet.head(table, base);
      if (there === head && table.compare(id, at, at + ID_BYTES, base, base + ID_BYTES) === 0)
        return slot;
      if (there === 0 && IdSet.isZero(table, base)) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  /** True when the 32 bytes of `id` from `at` are in the set. */
  has(id: Uint8Array, at = 0): boolean {
    if (IdSet.isZero(id, at)) return this.hasZero;
    const base = this.find(id, at) * ID_BYTES;
    return !IdSet.isZero(this.table, base);
  }

  /** Adds the 32 bytes of `id` from `at`; returns false when it was there already. */
  add(id: Uint8Array, at = 0): boolean {
    if (IdSet.isZero(id, at)) {
      const added = !this.hasZero;
      this.hasZero = true;
      if (added) this.count++;
      return added;
    }
    const base = this.find(id, at) * ID_BYTES;
    if (!IdSet.isZero(this.table, base)) return false;
    this.table.set(id.subarray(at, at + ID_BYTES), base);
    this.count++;
    if (this.count > (this.mask + 1) * MAX_LOAD) this.grow();
    return true;
  }

  /** Removes the 32 bytes of `id` from `at`; returns false when they were not in the set. */
  delete(id: Uint8Array, at = 0): boolean {
    if (IdSet.isZero(id, at)) {
      const had = this.hasZero;
      this.hasZero = false;
      if (had) this.count--;
      return had;
    }
    const table = this.table;
    let hole = this.find(id, at);
    if (IdSet.isZero(table, hole * ID_BYTES)) return false;
    // Later ids of the same run move back into the hole when it lies on their probe path, so
    // that no lookup stops short at an empty slot (no tombstones to clean up later).
    for (let slot = (hole + 1) & this.mask; ; slot = (slot + 1) & this.mask) {
      const base = slot * ID_BYTES;
      if (IdSet.isZero(table, base)) break;
      const home = IdSet.head(table, base) & this.mask;
      if (((slot - home) & this.mask) >= ((slot - hole) & this.mask)) {
        table.copy(table, hole * ID_BYTES, base, base + ID_BYTES);
        hole = slot;
      }
    }
    table.fill(0, hole * ID_BYTES, (hole + 1) * ID_BYTES);
    this.count--;
    return true;
  }

  private grow(): void {
    const old = this.table;
    this.table = Buffer.alloc(old.length * 2);
    this.mask = this.table.length / ID_BYTES - 1;
    for (let base = 0; base < old.length; base += ID_BYTES) {
      if (IdSet.isZero(old, base)) continue;
      this.table.set(old.subarray(base, base + ID_BYTES), this.find(old, base) * ID_BYTES);
    }
  }

  /** Every id, as views into one new Buffer (a copy: later changes do not show). */
  ids(): Buffer {
    const out = Buffer.alloc(this.count * ID_BYTES);
    let n = 0;
    if (this.hasZero) n++;
    for (let base = 0; base < this.table.length; base += ID_BYTES) {
      if (IdSet.isZero(this.table, base)) continue;
      this.table.copy(out, n * ID_BYTES, base, base + ID_BYTES);
      n++;
    }
    return out;
  }
}
