/**
 * @module browse/find
 * Finds entries of recovery points by a glob, as `--exclude` reads one: without `/` it matches
 * a name at any depth, with `/` the whole absolute path. Directories known to hold no match
 * (the same subtree in an earlier point) are not read again.
 */
import { EntryType, idHex, type TreeEntry } from '@coffer/core';
import { Minimatch } from 'minimatch';
import type { PointTree } from './point-tree.js';

/** Most directories remembered as holding no match; past it the memory starts over. */
const REMEMBERED = 100_000;
const SLASH = Buffer.from('/');

/** A compiled find pattern. */
export class NamePattern {
  readonly byPath: boolean;
  private readonly glob: Minimatch;

  constructor(readonly pattern: string) {
    this.byPath = pattern.includes('/');
    this.glob = new Minimatch(pattern, { dot: true, nocomment: true, nonegate: true });
  }

  /** True when the entry `name` at absolute `path` matches. */
  matches(path: string, name: string): boolean {
    return this.glob.match(this.byPath ? path : name);
  }
}

/** Searches points one after another, remembering directories without a match between them. */
export class Finder {
  private readonly empty = new Set<string>();

  constructor(private readonly pattern: NamePattern) {}

  /** Calls `found` for every matching entry of `tree`, in path order. */
  async search(
    tree: PointTree,
    found: (path: Buffer, entry: TreeEntry) => Promise<void> | void,
  ): Promise<void> {
    const root = await tree.lookup('/');
    if (root?.kind === 'directory')
      await this.directory(tree, Buffer.alloc(0), root.entries, found);
  }

  private async directory(
    tree: PointTree,
    dir: Buffer,
    entries: TreeEntry[],
    found: (path: Buffer, entry: TreeEntry) => Promise<void> | void,
  ): Promise<boolean> {
    let any = false;
    for (const entry of entries) {
      const path = Buffer.concat([dir, SLASH, entry.name]);
      if (this.pattern.matches(path.toString('utf8'), entry.name.toString('utf8'))) {
        await found(path, entry);
        any = true;
      }
      if (entry.type !== EntryType.directory || !entry.subtree) continue;
      // A name pattern's matches below a subtree do not depend on where the subtree is.
      const key = this.pattern.byPath
        ? `${idHex(entry.subtree)}:${path.toString('latin1')}`
        : idHex(entry.subtree);
      if (this.empty.has(key)) continue;
      if (await this.directory(tree, path, await tree.directory(entry), found)) any = true;
      else {
        if (this.empty.size >= REMEMBERED) this.empty.clear();
        this.empty.add(key);
      }
    }
    return any;
  }
}
