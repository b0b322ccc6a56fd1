/**
 * Pieces of hand-built recovery points for in-process vault tests: the stats a commit carries
 * and a file entry with one content blob.
 */
import { EntryType, type TreeEntry } from '@coffer/core';

/** The stats of a one-file point. */
export const STATS = {
  files: 1,
  directories: 0,
  otherEntries: 0,
  bytes: 1,
  newFiles: 1,
  changedFiles: 0,
  unchangedFiles: 0,
  addedBytes: 1,
  storedBytes: 1,
  warnings: 0,
};

/** A regular file `name` whose content is the one blob `id` of `length` bytes. */
export function fileEntry(name: string, id: Buffer, length: number): TreeEntry {
  return {
    name: Buffer.from(name),
    type: EntryType.file,
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtimeNs: 0n,
    ctimeNs: 0n,
    size: length,
    device: 0,
    inode: 0,
    links: 1,
    rdev: 0,
    content: [{ id, length }],
  };
}
