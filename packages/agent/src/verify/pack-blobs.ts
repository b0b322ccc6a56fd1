/**
 * @module verify/pack-blobs
 * The blobs a verify still has to open in one pack, 40 bytes each (id, offset, length) in one
 * growing Buffer, where the vault's answer holds a location object of about 300 bytes each.
 */
import type { BlobLocation } from '@coffer/api';
import type { BlobType } from '@coffer/core';

const RECORD = 40;

/** Blobs of one pack, kept as binary records until the pack is read. */
export class PackBlobs {
  private bytes = Buffer.alloc(0);
  private count = 0;

  /** Blobs held. */
  get size(): number {
    return this.count;
  }

  /** Adds the blob `hexId` found at `offset` (`length` bytes) of the pack. */
  add(hexId: string, offset: number, length: number): void {
    if ((this.count + 1) * RECORD > this.bytes.length) {
      const grown = Buffer.alloc(Math.max(64 * RECORD, this.bytes.length * 2));
      this.bytes.copy(grown);
      this.bytes = grown;
    }
    const at = this.count * RECORD;
    this.bytes.write(hexId, at, 32, 'hex');
    // Packs are at most 64 MiB (format.md §9), so offsets and lengths fit in 32 bits.
    this.bytes.writeUInt32LE(offset, at + 32);
    this.bytes.writeUInt32LE(length, at + 36);
    this.count++;
  }

  /** The blobs as locations in `pack`, in increasing offset order (as a pack is streamed). */
  locations(pack: string, type: BlobType): BlobLocation[] {
    const out: BlobLocation[] = [];
    for (let at = 0; at < this.count * RECORD; at += RECORD) {
      out.push({
        id: this.bytes.toString('hex', at, at + 32),
        pack,
        offset: this.bytes.readUInt32LE(at + 32),
        length: this.bytes.readUInt32LE(at + 36),
        type,
      });
    }
    return out.sort((a, b) => a.offset - b.offset);
  }
}
