/**
 * @module sparse-write
 * Writes restored bytes leaving whole zero blocks as holes, so sparse files stay sparse and
 * zeros cost no disk writes. Used by the threads that write files.
 */
import { writeSync } from 'node:fs';

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

/**
 * Writes the non-zero blocks of `bytes` at `position` of `fd`; returns the end (in the file) of
 * the last byte written, or `position` when everything was zero.
 */
export function writeSparse(fd: number, bytes: Uint8Array, position: number): number {
  let end = position;
  for (const [start, stop] of dataRanges(bytes)) {
    writeFully(fd, bytes.subarray(start, stop), position + start);
    end = position + stop;
  }
  return end;
}
