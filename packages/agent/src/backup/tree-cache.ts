/**
 * @module backup/tree-cache
 * Parent trees for change detection, read from a local cache of sealed trees (written as trees
 * are made) and, on a miss, from the vault. Cached trees stay sealed: the cache holds nothing
 * the vault does not.
 */
import { BlobType, decodeTree, openBlob, type TreeEntry } from '@coffer/core';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobReader, OpenKeys } from '../client/blob-reader.js';

/** Cache writes that may run at once; more wait, so a huge walk cannot queue without bound. */
const WRITES_IN_FLIGHT = 64;

/** Loads trees by id, cache first. */
export class TreeCache {
  private readonly writing = new Set<Promise<void>>();

  constructor(
    private readonly dir: string,
    private readonly keys: OpenKeys,
    private readonly reader: BlobReader | undefined,
  ) {}

  private path(hex: string): string {
    return join(this.dir, hex.slice(0, 2), hex);
  }

  /**
   * Keeps a sealed tree for later backups, written in the background: creating a file can take
   * milliseconds (ext4 skips recently deleted inodes), and the walk must not wait for it.
   */
  async put(hex: string, sealed: Buffer): Promise<void> {
    while (this.writing.size >= WRITES_IN_FLIGHT) await Promise.race(this.writing);
    const task = this.write(hex, sealed).finally(() => this.writing.delete(task));
    this.writing.add(task);
  }

  /** Waits for the writes started by `put`. */
  async flush(): Promise<void> {
    await Promise.all(this.writing);
  }

  /** Best effort: a failure only costs a fetch from the vault next time. */
  private async write(hex: string, sealed: Buffer): Promise<void> {
    try {
      await mkdir(join(this.dir, hex.slice(0, 2)), { recursive: true, mode: 0o700 });
      await writeFile(this.path(hex), sealed, { mode: 0o600 });
    } catch {
      // The cache is an optimization; the vault holds the tree.
    }
  }

  /** The entries of tree `id`. */
  async load(id: Buffer): Promise<TreeEntry[]> {
    const hex = id.toString('hex');
    try {
      // A plain read: a small local file costs less than a round trip through the thread pool.
      const sealed = readFileSync(this.path(hex));
      return decodeTree(openBlob(this.keys, BlobType.tree, id, sealed));
    } catch {
      // Missing or damaged in the cache: read it from the vault.
    }
    if (!this.reader) return [];
    return decodeTree(await this.reader.read(hex, BlobType.tree));
  }
}
