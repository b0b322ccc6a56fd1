/**
 * @module fs-times
 * Sets a file's access and modification times to the nanosecond with utimensat/futimens.
 * Node's own fs.utimes passes times through libuv, which cuts them to whole microseconds.
 */
import { createRequire } from 'node:module';

interface Binding {
  utimens(path: Buffer, sec: number, nsec: number, noFollow: boolean): void;
  futimens(fd: number, sec: number, nsec: number): void;
}

const binding = createRequire(import.meta.url)('../build/Release/fs_times.node') as Binding;

function split(timeNs: bigint): [number, number] {
  const sec = timeNs / 1_000_000_000n;
  const nsec = timeNs % 1_000_000_000n;
  // Times before 1970 have a negative remainder; timespec wants 0 <= nsec < 1e9.
  return nsec < 0n
    ? [Number(sec - 1n), Number(nsec + 1_000_000_000n)]
    : [Number(sec), Number(nsec)];
}

/** Sets the access and modification time of `path` (not following a final symlink if asked). */
export function setTimes(path: Buffer | string, timeNs: bigint, noFollow = false): void {
  const bytes = Buffer.concat([Buffer.from(path), Buffer.alloc(1)]);
  binding.utimens(bytes, ...split(timeNs), noFollow);
}

/** Sets the access and modification time of the open file `fd`. */
export function setTimesOfOpenFile(fd: number, timeNs: bigint): void {
  binding.futimens(fd, ...split(timeNs));
}
