import type { BlobLocation, LocateResponse } from '@coffer/api';
import {
  BlobType,
  CofferError,
  EntryType,
  PackWriter,
  blobId,
  encodeManifest,
  encodeTree,
  sealBlob,
  type TreeEntry,
} from '@coffer/core';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BlobReader, type ReaderClient } from '../src/client/blob-reader.js';
import { Verifier } from '../src/verify/verify.js';

const keys = { encryptionKey: randomBytes(32), idKey: randomBytes(32) };

/** A vault in memory that counts what a verify asks of it. */
class MemoryVault implements ReaderClient {
  readonly packs = new Map<string, Buffer>();
  readonly index = new Map<string, BlobLocation>();
  /** Ids per locate request, and tree blobs fetched (a tree read twice counts twice). */
  readonly locates: number[] = [];
  treesRead = 0;

  store(pack: { name: string; bytes: Buffer[] }, entries: { id: Buffer; type: number }[]): void {
    const bytes = Buffer.concat(pack.bytes);
    this.packs.set(pack.name, bytes);
    let offset = 0;
    for (const [i, e] of entries.entries()) {
      const length = pack.bytes[i]!.length;
      const id = e.id.toString('hex');
      this.index.set(id, { id, pack: pack.name, offset, length, type: e.type });
      offset += length;
    }
  }

  private pack(name: string): Buffer {
    const bytes = this.packs.get(name);
    if (!bytes) throw new CofferError('PACK_MISSING', `pack ${name} is missing`);
    return bytes;
  }

  locate(_agent: string, ids: string[]): Promise<LocateResponse> {
    this.locates.push(ids.length);
    const locations = ids.flatMap((id) => this.index.get(id) ?? []);
    return Promise.resolve({ locations, missing: ids.filter((id) => !this.index.has(id)) });
  }

  readRange(_agent: string, pack: string, offset: number, length: number): Promise<Buffer> {
    return Promise.resolve(Buffer.from(this.pack(pack).subarray(offset, offset + length)));
  }

  readRanges(_agent: string, pack: string, ranges: [number, number][]): Promise<Buffer> {
    const bytes = this.pack(pack);
    for (const [offset] of ranges) {
      for (const loc of this.index.values())
        if (loc.pack === pack && loc.offset === offset && loc.type === BlobType.tree)
          this.treesRead++;
    }
    return Promise.resolve(Buffer.concat(ranges.map(([o, n]) => bytes.subarray(o, o + n))));
  }

  readPack(_agent: string, pack: string): Promise<AsyncIterable<Buffer>> {
    const bytes = this.pack(pack);
    return Promise.resolve(
      (async function* () {
        for (let at = 0; at < bytes.length; at += 4096) yield bytes.subarray(at, at + 4096);
      })(),
    );
  }

  checkPack(_agent: string, name: string): Promise<{ name: string; state: 'damaged' }> {
    return Promise.resolve({ name, state: 'damaged' });
  }
}

function entry(name: string, type: EntryType, more: Partial<TreeEntry>): TreeEntry {
  return {
    name: Buffer.from(name),
    type,
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtimeNs: 0n,
    ctimeNs: 0n,
    size: 0,
    device: 1,
    inode: 1,
    links: 1,
    rdev: 0,
    ...more,
  };
}

/**
 * A point of `dirs` directories of `files` files each, written as a backup does: each
 * directory's data, then its tree, into small packs that mix data and trees.
 */
function backUp(vault: MemoryVault, dirs: number, files: number) {
  const writer = new PackWriter({ targetSize: 32 * 1024 });
  let entries: { id: Buffer; type: number }[] = [];
  const put = (type: BlobType, plaintext: Buffer): Buffer => {
    const id = blobId(keys.idKey, plaintext);
    writer.add(id, type, sealBlob(keys, type, id, plaintext));
    entries.push({ id, type });
    if (writer.full) flush();
    return id;
  };
  const flush = (): void => {
    vault.store(writer.finish(), entries);
    entries = [];
  };
  const fileBlobs = new Map<string, string>();
  const top: TreeEntry[] = [];
  for (let d = 0; d < dirs; d++) {
    const children: TreeEntry[] = [];
    for (let f = 0; f < files; f++) {
      const id = put(BlobType.data, randomBytes(1500));
      fileBlobs.set(`/d${d}/f${f}`, id.toString('hex'));
      children.push(
        entry(`f${f}`, EntryType.file, {
          size: 1500,
          content: [{ id, length: 1500 }],
        }),
      );
    }
    const subtree = put(BlobType.tree, encodeTree(children));
    top.push(entry(`d${d}`, EntryType.directory, { mode: 0o755, subtree }));
  }
  const tree = put(BlobType.tree, encodeTree(top));
  const zero = { files: 0, directories: 0, otherEntries: 0, bytes: 0, newFiles: 0 };
  const point = put(
    BlobType.manifest,
    encodeManifest({
      tree,
      paths: [Buffer.from('/')],
      hostname: 'h',
      username: 'u',
      startTimeNs: 0n,
      endTimeNs: 0n,
      item: 'it_1',
      tags: [],
      excludes: [],
      stats: {
        ...zero,
        changedFiles: 0,
        unchangedFiles: 0,
        addedBytes: 0,
        storedBytes: 0,
        warnings: 0,
      },
      program: 'test',
    }),
  );
  if (writer.count > 0) flush();
  return { point: point.toString('hex'), fileBlobs };
}

async function verify(vault: MemoryVault, point: string) {
  const verifier = new Verifier(new BlobReader(vault, 'ag_1', keys), true, {
    treeBatch: 4,
    locateBatch: 25,
  });
  await verifier.verifyPoint(point);
  return verifier.result;
}

describe('Verifier', () => {
  it('checks a clean point in one pass: every tree read once, ids located in bounded batches', async () => {
    const vault = new MemoryVault();
    const { point } = backUp(vault, 30, 40);
    const result = await verify(vault, point);
    expect(result.damage).toEqual([]);
    expect(result).toMatchObject({ trees: 31, files: 1200, blobsRead: 1200 });
    expect(result.packsChecked).toBe(vault.packs.size);
    // No second walk: a path is never made for a point without damage.
    expect(vault.treesRead).toBe(31);
    expect(Math.max(...vault.locates)).toBeLessThanOrEqual(25);
  });

  it('names the files of a damaged and of a missing pack in a second pass', async () => {
    const vault = new MemoryVault();
    const { point, fileBlobs } = backUp(vault, 30, 40);
    const dataPacks = [...vault.packs.keys()].filter((name) =>
      [...vault.index.values()].every((l) => l.pack !== name || l.type === BlobType.data),
    );
    expect(dataPacks.length).toBeGreaterThanOrEqual(2);
    const [flipped, gone] = dataPacks as [string, string];
    const victim = [...vault.index.values()].find((l) => l.pack === flipped)!;
    vault.packs.get(flipped)![victim.offset + 20]! ^= 1;
    vault.packs.delete(gone);
    const inPack = (pack: string): string[] =>
      [...fileBlobs].filter(([, id]) => vault.index.get(id)!.pack === pack).map(([p]) => p);

    const result = await verify(vault, point);
    const named = result.damage.filter((d) => d.path !== '').map((d) => d.path);
    expect(named.sort()).toEqual(
      [...fileBlobs]
        .filter(([, id]) => id === victim.id || vault.index.get(id)!.pack === gone)
        .map(([p]) => p)
        .sort(),
    );
    expect(inPack(gone).length).toBeGreaterThan(1);
    expect(
      result.damage
        .filter((d) => d.path === '')
        .map((d) => d.blob)
        .sort(),
    ).toEqual([flipped, gone].sort());
    expect(result.packs.map((p) => p.pack).sort()).toEqual([flipped, gone].sort());
    // The trees were walked twice: once to check, once more to name what is damaged.
    expect(vault.treesRead).toBe(62);
  });
});
