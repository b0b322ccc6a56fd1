import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BlobType,
  EntryType,
  PackVerifier,
  PackWriter,
  StreamChunker,
  blobId,
  decodeTree,
  encodeTree,
  gearTable,
  openBlob,
  parsePack,
  sealBlob,
  sliceBlob,
  treeRefs,
  type ChunkerParams,
  type TreeEntry,
} from '../src/index.js';

const keys = { encryptionKey: randomBytes(32), idKey: randomBytes(32) };
const gear = gearTable(keys.idKey);
const SMALL: ChunkerParams = { name: 'fastcdc-gear32-v1', min: 1024, avg: 4096, max: 16384 };

/** Backs up `data` through chunker, codec and packs, and reads it back from the packs' bytes alone. */
function roundTrip(data: Buffer, splits: number[], params: ChunkerParams): Buffer {
  const chunker = new StreamChunker(gear, params);
  const writer = new PackWriter({ targetSize: 64 * 1024 });
  const packs: Buffer[] = [];
  const ids: Buffer[] = [];
  const stored = new Set<string>();
  const add = (chunk: Buffer): void => {
    expect(chunk.length).toBeLessThanOrEqual(params.max);
    const id = blobId(keys.idKey, chunk);
    ids.push(id);
    if (!stored.has(id.toString('hex'))) {
      stored.add(id.toString('hex'));
      writer.add(id, BlobType.data, sealBlob(keys, BlobType.data, id, chunk));
    }
    if (writer.full) packs.push(Buffer.concat(writer.finish().bytes));
  };
  let offset = 0;
  for (const split of [...splits, data.length]) {
    const end = Math.min(data.length, Math.max(offset, split));
    for (const c of chunker.push(data.subarray(offset, end))) add(c);
    offset = end;
  }
  for (const c of chunker.finish()) add(c);
  if (writer.count > 0) packs.push(Buffer.concat(writer.finish().bytes));
  const index = new Map<string, Buffer>();
  for (const pack of packs) {
    const verifier = new PackVerifier();
    for (let i = 0; i < pack.length; i += 7919) verifier.update(pack.subarray(i, i + 7919));
    const streamed = verifier.finish();
    const { entries, name } = parsePack(pack);
    expect(streamed.name).toBe(name);
    for (const e of entries) {
      const hex = e.id.toString('hex');
      if (!index.has(hex)) index.set(hex, openBlob(keys, BlobType.data, e.id, sliceBlob(pack, e)));
    }
  }
  return Buffer.concat(ids.map((id) => index.get(id.toString('hex'))!));
}

const name = fc.uint8Array({ minLength: 1, maxLength: 40 }).filter((b) => {
  const n = Buffer.from(b);
  return (
    !n.includes(0x2f) &&
    !n.includes(0) &&
    n.toString('latin1') !== '.' &&
    n.toString('latin1') !== '..'
  );
});
const id = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b));
const entry: fc.Arbitrary<TreeEntry> = fc
  .record({
    name: name.map((b) => Buffer.from(b)),
    kind: fc.constantFrom(EntryType.file, EntryType.directory, EntryType.symlink, EntryType.fifo),
    mode: fc.integer({ min: 0, max: 0o7777 }),
    uid: fc.nat(),
    gid: fc.nat(),
    mtimeNs: fc.bigInt({ min: -(1n << 62n), max: 1n << 62n }),
    ctimeNs: fc.bigInt({ min: 0n, max: 1n << 62n }),
    chunks: fc.array(fc.record({ id, length: fc.integer({ min: 1, max: 9 * 1024 * 1024 }) }), {
      maxLength: 5,
    }),
    target: fc.uint8Array({ minLength: 1, maxLength: 100 }),
    subtree: id,
    inode: fc.nat(),
    links: fc.integer({ min: 1, max: 5 }),
  })
  .map((r) => {
    const e: TreeEntry = {
      name: r.name,
      type: r.kind,
      mode: r.mode,
      uid: r.uid,
      gid: r.gid,
      mtimeNs: r.mtimeNs,
      ctimeNs: r.ctimeNs,
      size: 0,
      device: 2049,
      inode: r.inode,
      links: r.links,
      rdev: 0,
    };
    if (r.kind === EntryType.file && r.chunks.length > 0) {
      e.content = r.chunks;
      e.size = r.chunks.reduce((s, c) => s + c.length, 0);
    }
    if (r.kind === EntryType.symlink) e.linkTarget = Buffer.from(r.target);
    if (r.kind === EntryType.directory) e.subtree = r.subtree;
    return e;
  });

describe('round trips', () => {
  it('chunker + codec + packs give back random data, however the stream is split', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200_000 }),
        fc.array(fc.nat({ max: 200_000 }), { maxLength: 8 }),
        (length, splits) => {
          const data = randomBytes(length);
          expect(
            roundTrip(
              data,
              splits.sort((a, b) => a - b),
              SMALL,
            ).equals(data),
          ).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('handles empty input, inputs at min/max boundaries, zero runs and 8 MiB+ with real parameters', () => {
    for (const length of [0, 1, 1023, 1024, 1025, 16383, 16384, 16385, 100_000]) {
      const data = randomBytes(length);
      expect(roundTrip(data, [], SMALL).equals(data)).toBe(true);
    }
    const real: ChunkerParams = {
      name: 'fastcdc-gear32-v1',
      min: 512 * 1024,
      avg: 1024 * 1024,
      max: 8 * 1024 * 1024,
    };
    for (const data of [randomBytes(8 * 1024 * 1024 + 1), Buffer.alloc(17 * 1024 * 1024)]) {
      expect(roundTrip(data, [3, 5_000_000], real).equals(data)).toBe(true);
    }
  });

  it('trees of random entries (non-UTF-8 names, all types, extreme times) round-trip canonically', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(entry, { selector: (e) => e.name.toString('hex'), maxLength: 30 }),
        (entries) => {
          const bytes = encodeTree(entries);
          const decoded = decodeTree(bytes);
          expect(encodeTree(decoded).equals(bytes)).toBe(true);
          expect(encodeTree([...entries].reverse()).equals(bytes)).toBe(true);
          expect(decoded.map((e) => e.name.toString('hex'))).toEqual(
            [...entries]
              .sort((a, b) => Buffer.compare(a.name, b.name))
              .map((e) => e.name.toString('hex')),
          );
          const refs = treeRefs(decoded).map((r) => r.toString('hex'));
          expect(new Set(refs).size).toBe(refs.length);
        },
      ),
      { numRuns: 200 },
    );
  });
});
