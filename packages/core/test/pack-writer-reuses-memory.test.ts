import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BlobType,
  PackWriter,
  blobId,
  parsePack,
  sealBlob,
  type FinishedPack,
} from '../src/index.js';

const keys = { encryptionKey: randomBytes(32), idKey: randomBytes(32) };

/** Adds sealed blobs of about `sizes` bytes (random, so they do not compress). */
function fill(writer: PackWriter, sizes: number[]): { blobs: Buffer[] } {
  const blobs: Buffer[] = [];
  for (const size of sizes) {
    const plaintext = randomBytes(size);
    const id = blobId(keys.idKey, plaintext);
    const blob = sealBlob(keys, BlobType.data, id, plaintext);
    writer.add(id, BlobType.data, blob);
    blobs.push(blob);
  }
  return { blobs };
}

function check(pack: FinishedPack, blobs: Buffer[]): void {
  const bytes = Buffer.concat(pack.bytes);
  expect(bytes.length).toBe(pack.size);
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(pack.name);
  const { entries, name } = parsePack(bytes);
  expect(name).toBe(pack.name);
  expect(entries.map((e) => bytes.subarray(e.offset, e.offset + e.length))).toEqual(blobs);
}

describe('PackWriter', () => {
  it('fills a later pack in the memory of a recycled one, and only once at a time', () => {
    const writer = new PackWriter({ targetSize: 64 * 1024 });
    const first = fill(writer, [30_000, 40_000]);
    const a = writer.finish();
    check(a, first.blobs);
    writer.recycle(a);
    writer.recycle(a);
    const second = fill(writer, [50_000, 20_000]);
    const b = writer.finish();
    check(b, second.blobs);
    expect(b.bytes[0]!.buffer).toBe(a.bytes[0]!.buffer);
    // Recycled twice, but handed out once: the next pack has memory of its own.
    fill(writer, [1000]);
    const c = writer.finish();
    expect(c.bytes[0]!.buffer).not.toBe(a.bytes[0]!.buffer);
  });

  it('grows past its target for a blob larger than the room left', () => {
    const writer = new PackWriter({ targetSize: 64 * 1024 });
    const { blobs } = fill(writer, [60_000, 200_000, 10]);
    check(writer.finish(), blobs);
  });

  it("keeps copies of a blob's id and refs, not the buffers they are views into", () => {
    const writer = new PackWriter();
    // A tree's refs are often views into a larger buffer, such as the parent tree's plaintext.
    const parent = randomBytes(8192);
    const refs = [parent.subarray(64, 96), parent.subarray(4000, 4032)];
    const plaintext = Buffer.from('a tree');
    const id = Buffer.concat([randomBytes(32), parent]).subarray(0, 32);
    writer.add(id, BlobType.tree, sealBlob(keys, BlobType.tree, id, plaintext), refs);
    const [entry] = writer.finish().entries;
    expect(entry!.id).toEqual(id);
    expect(entry!.refs).toEqual(refs);
    for (const kept of [entry!.id, ...entry!.refs]) {
      expect(kept.buffer).not.toBe(parent.buffer);
      expect(kept.buffer).not.toBe(id.buffer);
      // Small copies share Node's pool of 8 KiB at most, never a caller's memory.
      expect(kept.buffer.byteLength).toBeLessThanOrEqual(8192);
    }
  });
});
