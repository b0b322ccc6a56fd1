/**
 * @module backup/sources
 * Turns the source paths of a backup into the shape of the root tree (docs/format.md §6.1):
 * each source at its absolute path, with the directories on the way as virtual entries.
 */
import { CofferError } from '@coffer/core';
import { lstat } from 'node:fs/promises';
import { resolve } from 'node:path';

export interface SourceNode {
  name: Buffer;
  /** Absolute path as bytes. */
  path: Buffer;
  /** True when this path was given (it is backed up whole). */
  isSource: boolean;
  /** Children sorted by name bytes. */
  children: SourceNode[];
  /** On the root only: the source paths, sorted. */
  sourcePaths: Buffer[];
}

/** Builds the tree of sources; every path must exist. */
export async function buildSourceTree(paths: readonly string[]): Promise<SourceNode> {
  if (paths.length === 0) throw new CofferError('USAGE', 'give at least one path to back up');
  const absolute = [...new Set(paths.map((p) => resolve(p)))].sort();
  for (const path of absolute) {
    try {
      await lstat(path);
    } catch {
      throw new CofferError('SOURCE_NOT_FOUND', `${path}: no such file or directory`);
    }
  }
  const root: SourceNode = {
    name: Buffer.alloc(0),
    path: Buffer.from('/'),
    isSource: false,
    children: [],
    sourcePaths: absolute.map((p) => Buffer.from(p)),
  };
  for (const path of absolute) {
    if (path === '/') {
      root.isSource = true;
      continue;
    }
    let node = root;
    const parts = path.split('/').filter((p) => p.length > 0);
    let covered = false;
    for (let i = 0; i < parts.length && !covered; i++) {
      const name = Buffer.from(parts[i]!);
      let child = node.children.find((c) => c.name.equals(name));
      if (!child) {
        child = {
          name,
          path: Buffer.from('/' + parts.slice(0, i + 1).join('/')),
          isSource: false,
          children: [],
          sourcePaths: [],
        };
        node.children.push(child);
      }
      // A path inside another source is already covered by it.
      if (child.isSource) covered = true;
      node = child;
    }
    if (!covered) {
      node.isSource = true;
      node.children = [];
    }
  }
  const sort = (n: SourceNode): void => {
    n.children.sort((a, b) => Buffer.compare(a.name, b.name));
    n.children.forEach(sort);
  };
  sort(root);
  return root;
}
