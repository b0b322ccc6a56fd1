/**
 * @module browse/point-tree
 * Reads the directories of one recovery point: looks paths up, resolves a relative path against
 * the point's source paths, and walks below a path depth first, one directory in memory per
 * level, so a point of any size lists in bounded memory.
 */
import {
  BlobType,
  CofferError,
  EntryType,
  decodeManifest,
  decodeTree,
  idHex,
  type Manifest,
  type TreeEntry,
} from '@coffer/core';
import { posix } from 'node:path';
import type { BlobReader } from '../client/blob-reader.js';
import { pathNames } from '../restore/restore.js';

/** What a path of a point names: the directory's entries, or the one entry that is not one. */
export type PathTarget =
  | { kind: 'directory'; entries: TreeEntry[]; entry?: TreeEntry }
  | { kind: 'entry'; entry: TreeEntry };

/** Called for every entry below a walked path, parents before children, in name order. */
export type Visit = (path: Buffer, entry: TreeEntry) => Promise<void> | void;

const SLASH = Buffer.from('/');

/** One point opened for browsing. */
export class PointTree {
  private constructor(
    private readonly reader: BlobReader,
    readonly manifest: Manifest,
    private readonly root: TreeEntry[],
  ) {}

  /** Reads the point's manifest and root directory. */
  static async open(reader: BlobReader, pointId: string): Promise<PointTree> {
    const manifest = decodeManifest(await reader.read(pointId, BlobType.manifest));
    const root = decodeTree(await reader.read(idHex(manifest.tree), BlobType.tree));
    return new PointTree(reader, manifest, root);
  }

  /** The paths the backup was given, as text. */
  get sourcePaths(): string[] {
    return this.manifest.paths.map((p) => p.toString('utf8'));
  }

  /** The entries of a directory. */
  async directory(entry: TreeEntry): Promise<TreeEntry[]> {
    return entry.subtree
      ? decodeTree(await this.reader.read(idHex(entry.subtree), BlobType.tree))
      : [];
  }

  /** What the absolute `path` names, or undefined when the point does not have it. */
  async lookup(path: string): Promise<PathTarget | undefined> {
    let target: PathTarget = { kind: 'directory', entries: this.root };
    for (const name of pathNames(path)) {
      if (target.kind !== 'directory') return undefined;
      const entry: TreeEntry | undefined = target.entries.find((e) => e.name.equals(name));
      if (!entry) return undefined;
      target =
        entry.type === EntryType.directory
          ? { kind: 'directory', entries: await this.directory(entry), entry }
          : { kind: 'entry', entry };
    }
    return target;
  }

  /**
   * The absolute path a user meant: an absolute path as it is; a relative one below the point's
   * source path (below the one source path that has it, when the point has several).
   */
  async resolve(path: string): Promise<string> {
    if (path.startsWith('/')) return path;
    pathNames(path);
    const candidates = this.sourcePaths.map((source) => posix.join(source, path));
    if (candidates.length === 1) return candidates[0]!;
    const present: string[] = [];
    for (const candidate of candidates) {
      if (await this.lookup(candidate)) present.push(candidate);
    }
    if (present.length === 1) return present[0]!;
    if (present.length === 0) {
      throw new CofferError(
        'NOT_FOUND',
        `${path} is not below any path of this point (${this.sourcePaths.join(', ')})`,
      );
    }
    throw new CofferError(
      'USAGE',
      `${path} is below more than one path of this point (${present.join(', ')}); give the whole path`,
    );
  }

  /** Calls `visit` for every entry below the directory `path` (absolute). */
  async walk(path: string, visit: Visit): Promise<void> {
    const target = await this.lookup(path);
    if (!target) throw new CofferError('NOT_FOUND', `${path} is not in this point`);
    const base = Buffer.from(posix.normalize(`/${path}`).replace(/\/+$/, ''));
    if (target.kind === 'entry') {
      await visit(base, target.entry);
      return;
    }
    await this.walkEntries(base, target.entries, visit);
  }

  private async walkEntries(dir: Buffer, entries: TreeEntry[], visit: Visit): Promise<void> {
    for (const entry of entries) {
      const path = Buffer.concat([dir, SLASH, entry.name]);
      await visit(path, entry);
      if (entry.type === EntryType.directory) {
        await this.walkEntries(path, await this.directory(entry), visit);
      }
    }
  }
}
