/**
 * @module restore/file-writer
 * Writes a batch of small restored files with plain system calls, on a worker thread (or inline
 * when no worker is built): each file goes to a temporary name beside its destination, gets its
 * owner, mode and times, and is renamed into place, so no half-written file is ever visible.
 * A file whose directory is itself still under a temporary name (made by this restore and not
 * yet renamed into place) is written under its own name: nothing there is visible yet, and a
 * rename per file cost a quarter of the kernel's time per small file.
 * The paths were checked and made by the restore; this module only carries them out.
 *
 * A batch carries its paths in one buffer and its files as plain numbers and short strings: a
 * Uint8Array per path cost a copy of its whole (pooled) ArrayBuffer in every message.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  ftruncateSync,
  openSync,
  renameSync,
  rmSync,
  unlinkSync,
} from 'node:fs';
import { setTimesOfOpenFile } from '@coffer/fs-times';
import { writeSparse } from '../sparse-write.js';
import type { TaskHandler } from '../worker-tasks.js';

export interface FileToWrite {
  /** Where this file's destination path ends in the batch's `paths` (it starts where the last ended). */
  pathEnd: number;
  /**
   * The name, in the destination's directory, the file is written under until it is complete;
   * undefined to write it at its destination (a directory not yet in place).
   */
  tempName: string | undefined;
  /** Indexes into the batch's plaintexts, in file order. */
  parts: number[];
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  /** A directory is in the way at `dest` and is to be replaced. */
  replaceDirectory: boolean;
}

export interface WriteBatch {
  plaintexts: Uint8Array[];
  /** The files' destination paths, one after another. */
  paths: Uint8Array;
  files: FileToWrite[];
  /** Set owners (only root can). */
  chown: boolean;
}

/** Per file: written (maybe with a metadata warning), or the reason it was not. */
export type WriteOutcome = { ok: true; warning?: string } | { ok: false; error: string };

const SLASH = 0x2f;

function removeQuietly(path: Buffer): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone; nothing else to undo.
  }
}

function writeOne(batch: WriteBatch, file: FileToWrite, dest: Buffer): WriteOutcome {
  const temp =
    file.tempName === undefined
      ? dest
      : Buffer.concat([
          dest.subarray(0, dest.lastIndexOf(SLASH) + 1),
          Buffer.from(file.tempName, 'latin1'),
        ]);
  let fd: number;
  try {
    fd = openSync(
      temp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
  } catch (error) {
    return { ok: false, error: `cannot create it: ${(error as Error).message}` };
  }
  let warning: string | undefined;
  try {
    let position = 0;
    let written = 0;
    for (const index of file.parts) {
      const part = batch.plaintexts[index]!;
      written = Math.max(written, writeSparse(fd, part, position));
      position += part.length;
    }
    if (position !== file.size) {
      throw new Error(`content adds up to ${position} bytes, not ${file.size}`);
    }
    if (written < file.size) ftruncateSync(fd, file.size);
    try {
      if (batch.chown) fchownSync(fd, file.uid, file.gid);
      fchmodSync(fd, file.mode);
      setTimesOfOpenFile(fd, file.mtimeNs);
    } catch (error) {
      warning = `cannot set metadata: ${(error as Error).message}`;
    }
    closeSync(fd);
  } catch (error) {
    closeSync(fd);
    removeQuietly(temp);
    return { ok: false, error: (error as Error).message };
  }
  if (temp !== dest) {
    try {
      if (file.replaceDirectory) rmSync(dest, { recursive: true, force: true });
      renameSync(temp, dest);
    } catch (error) {
      removeQuietly(temp);
      return { ok: false, error: (error as Error).message };
    }
  }
  return warning === undefined ? { ok: true } : { ok: true, warning };
}

/** Writes every file of `batch`; one outcome per file. */
export const writeBatch: TaskHandler<WriteBatch, WriteOutcome[]> = (batch) => {
  const paths = Buffer.from(batch.paths.buffer, batch.paths.byteOffset, batch.paths.byteLength);
  let start = 0;
  const outcomes = batch.files.map((file) => {
    const dest = paths.subarray(start, file.pathEnd);
    start = file.pathEnd;
    return writeOne(batch, file, dest);
  });
  return [outcomes, []];
};
