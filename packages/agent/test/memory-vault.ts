/**
 * A vault in memory for the reader's callers (verify, restore), and a point written into it as
 * a backup writes one: tests count what they ask of it.
 */
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
  type FinishedPack,
  type TreeEntry,
} from '@coffer/core';
import { randomBytes } from 'node:crypto';
import type { ReaderClient } from '../src/client/blob-reader.js';

export const keys = { encryptionKey: randomBytes(32), idKey: randomBytes(32) };

/** A vault in memory that counts what a verify asks of it. */
export class MemoryVault implements ReaderClient {
  readonly packs = new Map<string, Buffer>();
  readonly index = new Map<string, BlobLocation>();
  /** Ids per locate request, and tree blobs fetched (a tree read twice counts twice). */
  readonly locates: number[] = [];
  treesRead = 0;
  /** Every call, of any kind. */
  requests = 0;

  store(pack: FinishedPack): void {
    this.packs.set(pack.name, Buffer.concat(pack.bytes));
    for (const { id, offset, length, type } of pack.entries) {
      const hex = id.toString('hex');
      this.index.set(hex, { id: hex, pack: pack.name, offset, length, type });
    }
  }

  private pack(name: string): Buffer {
    const bytes = this.packs.get(name);
    if (!bytes) throw new CofferError('PACK_MISSING', `pack ${name} is missing`);
    return bytes;
  }

  locate(_agent: string, ids: string[]): Promise<LocateResponse> {
    this.requests++;
    this.locates.push(ids.length);
    const locations = ids.flatMap((id) => this.index.get(id) ?? []);
    return Promise.resolve({ locations, missing: ids.filter((id) => !this.index.has(id)) });
  }

  readRange(_agent: string, pack: string, offset: number, length: number): Promise<Buffer> {
    this.requests++;
    return Promise.resolve(Buffer.from(this.pack(pack).subarray(offset, offset + length)));
  }

  readRanges(_agent: string, pack: string, ranges: [number, number][]): Promise<Buffer> {
    this.requests++;
    const bytes = this.pack(pack);
    for (const [offset] of ranges) {
      for (const loc of this.index.values())
        if (loc.pack === pack && loc.offset === offset && loc.type === BlobType.tree)
          this.treesRead++;
    }
    return Promise.resolve(Buffer.concat(ranges.map(([o, n]) => bytes.subarray(o, o + n))));
  }

  readPack(_agent: string, pack: string): Promise<AsyncIterable<Buffer>> {
    this.requests++;
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

export function entry(name: string, type: EntryType, more: Partial<TreeEntry>): TreeEntry {
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
export function backUp(
  vault: MemoryVault,
  dirs: number,
  files: number,
  packSize = 32 * 1024,
  fileSize = 1500,
) {
  const writer = new PackWriter({ targetSize: packSize });
  const put = (type: BlobType, plaintext: Buffer): Buffer => {
    const id = blobId(keys.idKey, plaintext);
    writer.add(id, type, sealBlob(keys, type, id, plaintext));
    if (writer.full) flush();
    return id;
  };
  const flush = (): void => vault.store(writer.finish());
  const fileBlobs = new Map<string, string>();
  const top: TreeEntry[] = [];
  for (let d = 0; d < dirs; d++) {
    const children: TreeEntry[] = [];
    for (let f = 0; f < files; f++) {
      const id = put(BlobType.data, randomBytes(fileSize));
      fileBlobs.set(`/d${d}/f${f}`, id.toString('hex'));
      children.push(
        entry(`f${f}`, EntryType.file, {
          size: fileSize,
          content: [{ id, length: fileSize }],
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
