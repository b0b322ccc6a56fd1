/**
 * @module restore/file-writer
 * Writes a batch of small restored files with plain system calls, on a worker thread (or inline
 * when no worker is built): each file goes to a temporary name beside its destination, gets its
 * owner, mode and times, and is renamed into place, so no half-written file is ever visible.
 * The paths were checked and made by the restore; this module only carries them out.
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
  temp: Uint8Array;
  dest: Uint8Array;
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
  files: FileToWrite[];
  /** Set owners (only root can). */
  chown: boolean;
}

/** Per file: written (maybe with a metadata warning), or the reason it was not. */
export type WriteOutcome = { ok: true; warning?: string } | { ok: false; error: string };

function removeQuietly(path: Buffer): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone; nothing else to undo.
  }
}

function writeOne(batch: WriteBatch, file: FileToWrite): WriteOutcome {
  const temp = Buffer.from(file.temp);
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
  try {
    const dest = Buffer.from(file.dest);
    if (file.replaceDirectory) rmSync(dest, { recursive: true, force: true });
    renameSync(temp, dest);
  } catch (error) {
    removeQuietly(temp);
    return { ok: false, error: (error as Error).message };
  }
  return warning === undefined ? { ok: true } : { ok: true, warning };
}

/** Writes every file of `batch`; one outcome per file. */
export const writeBatch: TaskHandler<WriteBatch, WriteOutcome[]> = (batch) => {
  return [batch.files.map((file) => writeOne(batch, file)), []];
};
