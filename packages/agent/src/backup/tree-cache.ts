/**
 * @module backup/tree-cache
 * Parent trees for change detection, read from a local cache of sealed trees (written as trees
 * are made) and, on a miss, from the vault. Cached trees stay sealed: the cache holds nothing
 * the vault does not.
 *
 * The cache is one append-only file of records (32-byte id, 4-byte little-endian length, the
 * sealed tree), not a file per directory: creating a file costs the kernel about a millisecond
 * (ext4 skips recently deleted inodes), which for 100,000 files in 6,000 directories was
 * seconds of system time. New trees are appended in batches of about a megabyte. When the file
 * holds much more than the trees the last backup used, it is rewritten with only those.
 */
import { BlobType, decodeTree, openBlob, type TreeEntry } from '@coffer/core';
import { closeSync, fstatSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import { mkdir, rm, appendFile, readdir, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobReader, OpenKeys } from '../client/blob-reader.js';
import { IdSet } from './id-set.js';

const ID_BYTES = 32;
const HEADER = ID_BYTES + 4;
/** New trees are appended once this many bytes are waiting. */
const APPEND_BATCH = 1024 * 1024;
/** The file is rewritten when larger than this many times what the run used (and than SLACK). */
const GROWTH = 3;
const SLACK = 4 * 1024 * 1024;
const PACK = 'trees.pack';
/** A directory of the cache of earlier versions. */
const LEGACY_DIR = /^[0-9a-f]{2}$/;

/** Loads trees by id, cache first. */
export class TreeCache {
  /** Offsets of records, by id (latin1), as found when the file was first read in this run. */
  private index: Map<string, number> | undefined;
  /** Where the last whole record ends (a torn tail is cut off before the next append). */
  private goodEnd = 0;
  private fileEnd = 0;
  private waiting: Buffer[] = [];
  private waitingBytes = 0;
  private appending: Promise<void> = Promise.resolve();
  /** Trees this run read from the cache or made: what a rewrite keeps. */
  private readonly used = new IdSet();
  private usedBytes = 0;

  constructor(
    private readonly dir: string,
    private readonly keys: OpenKeys,
    private readonly reader: BlobReader | undefined,
  ) {}

  private get file(): string {
    return join(this.dir, PACK);
  }

  /** Reads the record headers once (a torn last record is ignored). */
  private scan(): Map<string, number> {
    if (this.index) return this.index;
    const index = new Map<string, number>();
    this.index = index;
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch {
      return index;
    }
    try {
      const size = fstatSync(fd).size;
      const header = Buffer.alloc(HEADER);
      let at = 0;
      while (at + HEADER <= size) {
        if (readSync(fd, header, 0, HEADER, at) !== HEADER) break;
        const end = at + HEADER + header.readUInt32LE(ID_BYTES);
        if (end > size) break;
        index.set(header.toString('latin1', 0, ID_BYTES), at);
        at = end;
      }
      this.goodEnd = at;
      this.fileEnd = size;
    } finally {
      closeSync(fd);
    }
    return index;
  }

  /** The sealed tree `id` from the file, or undefined. */
  private read(id: Buffer): Buffer | undefined {
    const at = this.scan().get(id.toString('latin1'));
    if (at === undefined) return undefined;
    const fd = openSync(this.file, 'r');
    try {
      const header = Buffer.alloc(HEADER);
      if (readSync(fd, header, 0, HEADER, at) !== HEADER) return undefined;
      if (!header.subarray(0, ID_BYTES).equals(id)) return undefined;
      const sealed = Buffer.alloc(header.readUInt32LE(ID_BYTES));
      if (readSync(fd, sealed, 0, sealed.length, at + HEADER) !== sealed.length) return undefined;
      return sealed;
    } finally {
      closeSync(fd);
    }
  }

  private markUsed(id: Buffer, sealedLength: number): void {
    if (this.used.add(id)) this.usedBytes += HEADER + sealedLength;
  }

  /**
   * Keeps a sealed tree for later backups. It is appended with others in the background; the
   * walk does not wait for the disk.
   */
  async put(hex: string, sealed: Buffer): Promise<void> {
    const id = Buffer.from(hex, 'hex');
    this.markUsed(id, sealed.length);
    const header = Buffer.alloc(HEADER);
    id.copy(header);
    header.writeUInt32LE(sealed.length, ID_BYTES);
    this.waiting.push(header, sealed);
    this.waitingBytes += HEADER + sealed.length;
    if (this.waitingBytes >= APPEND_BATCH) {
      // One batch on its way at most: the walk waits here rather than queue without bound.
      await this.appending;
      this.append();
    }
  }

  /** Starts appending what waits, after the append before it. */
  private append(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.waitingBytes = 0;
    if (batch.length === 0) return;
    this.appending = this.appending.then(() => this.write(batch));
  }

  /** Best effort: a failure only costs a fetch from the vault next time. */
  private async write(batch: Buffer[]): Promise<void> {
    try {
      this.scan();
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      if (this.goodEnd < this.fileEnd) {
        // A record torn by a killed run: new records must start where whole ones end.
        await truncate(this.file, this.goodEnd);
        this.fileEnd = this.goodEnd;
      }
      const bytes = Buffer.concat(batch);
      await appendFile(this.file, bytes, { mode: 0o600 });
      this.goodEnd += bytes.length;
      this.fileEnd = this.goodEnd;
    } catch {
      // The cache is an optimization; the vault holds the tree.
    }
  }

  /** Writes what waits; rewrites the file with only the trees this run used when it grew. */
  async flush(): Promise<void> {
    this.append();
    await this.appending;
    if (this.fileEnd > SLACK && this.fileEnd > GROWTH * this.usedBytes) {
      try {
        this.compact();
      } catch {
        // Left as it is: it still works, only larger.
      }
    }
    await this.removeLegacy().catch(() => undefined);
  }

  /**
   * Removes the cache of earlier versions: a file per tree in subdirectories named by two hex
   * digits. One listing finds them; removing all 256 names blindly cost every backup 256 calls
   * through the thread pool.
   */
  private async removeLegacy(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    await Promise.all(
      names
        .filter((name) => LEGACY_DIR.test(name))
        .map((name) => rm(join(this.dir, name), { recursive: true, force: true })),
    );
  }

  /** Copies the records this run used into a new file and puts it in place. */
  private compact(): void {
    const temp = `${this.file}.${process.pid}.tmp`;
    const input = openSync(this.file, 'r');
    const output = openSync(temp, 'w', 0o600);
    try {
      const size = fstatSync(input).size;
      const header = Buffer.alloc(HEADER);
      const out: Buffer[] = [];
      let outBytes = 0;
      // A tree appended twice (by two runs) is copied once.
      const copied = new IdSet();
      let at = 0;
      while (at + HEADER <= size && readSync(input, header, 0, HEADER, at) === HEADER) {
        const length = header.readUInt32LE(ID_BYTES);
        if (at + HEADER + length > size) break;
        if (this.used.has(header) && copied.add(header)) {
          const record = Buffer.alloc(HEADER + length);
          readSync(input, record, 0, record.length, at);
          out.push(record);
          outBytes += record.length;
        }
        at += HEADER + length;
        if (outBytes >= APPEND_BATCH) {
          writeSync(output, Buffer.concat(out));
          out.length = 0;
          outBytes = 0;
        }
      }
      if (out.length > 0) writeSync(output, Buffer.concat(out));
    } finally {
      closeSync(input);
      closeSync(output);
    }
    renameSync(temp, this.file);
  }

  /** The entries of tree `id`. */
  async load(id: Buffer): Promise<TreeEntry[]> {
    try {
      // Plain reads: a small local read costs less than a round trip through the thread pool.
      const sealed = this.read(id);
      if (sealed) {
        const entries = decodeTree(openBlob(this.keys, BlobType.tree, id, sealed));
        this.markUsed(id, sealed.length);
        return entries;
      }
    } catch {
      // Damaged in the cache: read it from the vault.
    }
    if (!this.reader) return [];
    return decodeTree(await this.reader.read(id.toString('hex'), BlobType.tree));
  }
}
