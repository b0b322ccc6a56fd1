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
  futimesSync,
  openSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
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

/** Zero runs at least this long (and so aligned within a part) are left as holes. */
const HOLE = 64 * 1024;
const ZEROS = Buffer.alloc(HOLE);

/**
 * The ranges of `bytes` to write, as [start, end) pairs: everything but whole zero blocks,
 * which are left as holes so that sparse files stay sparse and zeros cost no disk writes.
 */
export function dataRanges(bytes: Uint8Array): [number, number][] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ranges: [number, number][] = [];
  for (let at = 0; at < buf.length; at += HOLE) {
    const end = Math.min(buf.length, at + HOLE);
    if (end - at === HOLE && buf.compare(ZEROS, 0, HOLE, at, end) === 0) continue;
    const last = ranges.at(-1);
    if (last && last[1] === at) last[1] = end;
    else ranges.push([at, end]);
  }
  return ranges;
}

function writeFully(fd: number, bytes: Uint8Array, position: number): void {
  for (let done = 0; done < bytes.length;) {
    done += writeSync(fd, bytes, done, bytes.length - done, position + done);
  }
}

function removeQuietly(path: Buffer): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone; nothing else to undo.
  }
}

function writeOne(
  batch: WriteBatch,
  file: FileToWrite,
  ranges: [number, number][][],
): WriteOutcome {
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
      for (const [start, end] of ranges[index]!) {
        writeFully(fd, part.subarray(start, end), position + start);
        written = position + end;
      }
      position += part.length;
    }
    if (position !== file.size) {
      throw new Error(`content adds up to ${position} bytes, not ${file.size}`);
    }
    if (written < file.size) ftruncateSync(fd, file.size);
    try {
      if (batch.chown) fchownSync(fd, file.uid, file.gid);
      fchmodSync(fd, file.mode);
      // Node takes seconds as a double: exact to about 0.2 µs for current dates.
      const seconds =
        Number(file.mtimeNs / 1_000_000_000n) + Number(file.mtimeNs % 1_000_000_000n) / 1e9;
      futimesSync(fd, seconds, seconds);
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
  const ranges = batch.plaintexts.map(dataRanges);
  return [batch.files.map((file) => writeOne(batch, file, ranges)), []];
};
