/**
 * @module gc/id-set
 * A set of 32-byte blob ids in one Buffer (open addressing, linear probing), so that marking a
 * million blobs costs about 64 MiB rather than the hundreds a Set of hex strings would. Slots are
 * chosen by a hash keyed with a random seed: ids come from agents, and an agent that picked ids
 * to collide could otherwise make every probe walk the whole table.
 */
import { randomBytes } from 'node:crypto';

const ID = 32;
/** Kept at most half full, so that probes stay short. */
const MAX_LOAD = 0.5;

/** A growable hash set of 32-byte ids. */
export class IdSet {
  private slots: Buffer;
  private used: Uint8Array;
  private mask: number;
  private count = 0;
  private readonly seed: Uint32Array;

  /** A set sized for about `expected` ids without growing. */
  constructor(expected = 1024) {
    let capacity = 1024;
    while (capacity * MAX_LOAD < expected) capacity *= 2;
    this.slots = Buffer.allocUnsafe(capacity * ID);
    this.used = new Uint8Array(capacity);
    this.mask = capacity - 1;
    this.seed = new Uint32Array(randomBytes(8).buffer.slice(0, 8));
  }

  /** Ids in the set. */
  get size(): number {
    return this.count;
  }

  /** Bytes the set holds (its table and occupancy flags). */
  get bytes(): number {
    return this.slots.length + this.used.length;
  }

  private slotOf(id: Uint8Array, offset: number): number {
    const a = (id[offset]! | (id[offset + 1]! << 8) | (id[offset + 2]! << 16)) ^ this.seed[0]!;
    const b = (id[offset + 4]! | (id[offset + 5]! << 8) | (id[offset + 6]! << 16)) ^ this.seed[1]!;
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b ^ (a >>> 13), 0x85ebca77);
    h ^= h >>> 15;
    h = Math.imul(h, 0xc2b2ae3d);
    h ^= h >>> 13;
    return (h >>> 0) & this.mask;
  }

  private find(id: Uint8Array, offset: number): number {
    let slot = this.slotOf(id, offset);
    for (;;) {
      if (this.used[slot] === 0) return slot;
      if (this.slots.compare(id, offset, offset + ID, slot * ID, slot * ID + ID) === 0) {
        return slot;
      }
      slot = (slot + 1) & this.mask;
    }
  }

  /** True when the id at `offset` of `id` (32 bytes) is in the set. */
  has(id: Uint8Array, offset = 0): boolean {
    return this.used[this.find(id, offset)] === 1;
  }

  /** Adds the id at `offset` of `id`; true when it was not in the set before. */
  add(id: Uint8Array, offset = 0): boolean {
    const slot = this.find(id, offset);
    if (this.used[slot] === 1) return false;
    if ((this.count + 1) / (this.mask + 1) > MAX_LOAD) {
      this.grow();
      return this.add(id, offset);
    }
    this.slots.set(id.subarray(offset, offset + ID), slot * ID);
    this.used[slot] = 1;
    this.count++;
    return true;
  }

  private grow(): void {
    const old = this.slots;
    const oldUsed = this.used;
    const capacity = (this.mask + 1) * 2;
    this.slots = Buffer.allocUnsafe(capacity * ID);
    this.used = new Uint8Array(capacity);
    this.mask = capacity - 1;
    for (let i = 0; i < oldUsed.length; i++) {
      if (oldUsed[i] === 0) continue;
      const slot = this.find(old, i * ID);
      old.copy(this.slots, slot * ID, i * ID, i * ID + ID);
      this.used[slot] = 1;
    }
  }
}

/** A first-in first-out queue of 32-byte ids in fixed-size Buffer chunks, freed as consumed. */
export class IdQueue {
  private static readonly CHUNK = 4096;
  private chunks: Buffer[] = [];
  private head = 0;
  private tail = 0;
  private length = 0;

  /** Ids waiting. */
  get size(): number {
    return this.length;
  }

  /** Appends the id at `offset` of `id`. */
  push(id: Uint8Array, offset = 0): void {
    if (this.chunks.length === 0 || this.tail === IdQueue.CHUNK) {
      this.chunks.push(Buffer.allocUnsafe(IdQueue.CHUNK * ID));
      this.tail = 0;
    }
    this.chunks[this.chunks.length - 1]!.set(id.subarray(offset, offset + ID), this.tail * ID);
    this.tail++;
    this.length++;
  }

  /** Removes and returns up to `n` ids (copies). */
  take(n: number): Buffer[] {
    const out: Buffer[] = [];
    while (out.length < n && this.length > 0) {
      const chunk = this.chunks[0]!;
      out.push(Buffer.from(chunk.subarray(this.head * ID, this.head * ID + ID)));
      this.head++;
      this.length--;
      const filled = this.chunks.length === 1 ? this.tail : IdQueue.CHUNK;
      if (this.head === filled) {
        this.chunks.shift();
        this.head = 0;
        if (this.chunks.length === 0) this.tail = 0;
      }
    }
    return out;
  }
}
