/**
 * Builds the file tree the acceptance tests back up, and compares a restored copy with it.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  symlink,
  chmod,
  writeFile,
} from 'node:fs/promises';

const INVALID_UTF8 = Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x62, 0x69, 0x6e]);

function p(dir: string, ...names: (string | Buffer)[]): Buffer {
  return Buffer.concat([
    Buffer.from(dir),
    ...names.flatMap((n) => [Buffer.from('/'), Buffer.from(n)]),
  ]);
}

/** Sets an exact nanosecond mtime with touch (Node's utimes rounds through a double). */
export function touchNs(path: Buffer | string, seconds: number, nanos: number): void {
  execFileSync('touch', [
    '-h',
    '-m',
    '-d',
    `@${seconds}.${String(nanos).padStart(9, '0')}`,
    path.toString(),
  ]);
}

/** Creates every kind of entry the acceptance list names under `dir`. */
export async function makeFixture(dir: string): Promise<void> {
  await mkdir(p(dir, 'a', 'b', 'c'), { recursive: true });
  await writeFile(p(dir, 'empty'), '');
  await writeFile(p(dir, 'one'), 'x');
  await writeFile(p(dir, 'big.bin'), randomBytes(20 * 1024 * 1024));
  await writeFile(p(dir, 'log.txt'), 'GET /index.html 200 0.003s\n'.repeat(200_000));
  await writeFile(p(dir, 'a', 'b', 'c', 'deep.txt'), 'deep\n');
  await symlink('one', p(dir, 'link-to-one'));
  await symlink('does/not/exist', p(dir, 'dangling'));
  await writeFile(p(dir, 'hard1'), 'linked content\n');
  await link(p(dir, 'hard1'), p(dir, 'hard2'));
  execFileSync('mkfifo', [p(dir, 'fifo').toString()]);
  await writeFile(p(dir, 'with space'), 'space\n');
  await writeFile(p(dir, 'new\nline'), 'newline\n');
  await writeFile(p(dir, 'ünïcödé-名前'), 'unicode\n');
  await writeFile(p(dir, INVALID_UTF8), 'invalid utf-8 name\n');
  await writeFile(p(dir, 'private'), 'secret\n');
  await chmod(p(dir, 'private'), 0o600);
  await writeFile(p(dir, 'script'), '#!/bin/sh\necho hi\n');
  await chmod(p(dir, 'script'), 0o755);
  await writeFile(p(dir, 'setuid'), 'setuid\n');
  await chmod(p(dir, 'setuid'), 0o4755);
  touchNs(p(dir, 'one'), 1_600_000_000, 123_456_789);
  touchNs(p(dir, 'log.txt'), 1_500_000_000, 987_654_321);
  touchNs(p(dir, 'a', 'b', 'c', 'deep.txt'), 1_400_000_000, 5);
}

export interface Snapshot {
  type: string;
  mode: number;
  size: number;
  mtimeNs: bigint;
  hash?: string;
  target?: string;
  inode: bigint;
}

/** Everything a restore must preserve, keyed by relative path (latin1 keeps bytes exact). */
export async function snapshot(root: string): Promise<Map<string, Snapshot>> {
  const out = new Map<string, Snapshot>();
  async function walk(dir: Buffer, rel: string): Promise<void> {
    const names = await readdir(dir, { encoding: 'buffer' });
    for (const name of names) {
      const path = Buffer.concat([dir, Buffer.from('/'), name]);
      const key = `${rel}/${name.toString('latin1')}`;
      const st = await lstat(path, { bigint: true });
      const entry: Snapshot = {
        type: st.isFile()
          ? 'file'
          : st.isDirectory()
            ? 'dir'
            : st.isSymbolicLink()
              ? 'symlink'
              : st.isFIFO()
                ? 'fifo'
                : 'other',
        mode: Number(st.mode & 0o7777n),
        size: st.isFile() ? Number(st.size) : 0,
        mtimeNs: st.mtimeNs,
        inode: st.ino,
      };
      if (st.isFile())
        entry.hash = createHash('sha256')
          .update(await readFile(path))
          .digest('hex');
      if (st.isSymbolicLink())
        entry.target = (await readlink(path, { encoding: 'buffer' })).toString('latin1');
      out.set(key, entry);
      if (st.isDirectory()) await walk(path, key);
    }
  }
  await walk(Buffer.from(root), '');
  return out;
}

/** What a byte-identical restore must give back, per path: type, mode, size and content hash. */
export function contentsOf(s: Map<string, Snapshot>): object[] {
  return [...s]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, e]) => ({ key, type: e.type, mode: e.mode, size: e.size, hash: e.hash }));
}
