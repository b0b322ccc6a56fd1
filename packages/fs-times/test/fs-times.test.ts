import { lstat, mkdtemp, open, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimes, setTimesOfOpenFile } from '../src/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coffer-fs-times-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fs-times', () => {
  it('sets a path, a symlink itself and an open file to the nanosecond', async () => {
    const file = join(dir, 'file');
    await writeFile(file, 'x');
    const link = join(dir, 'link');
    await symlink('file', link);

    setTimes(file, 1_795_656_767_137_367_001n);
    expect((await lstat(file, { bigint: true })).mtimeNs).toBe(1_795_656_767_137_367_001n);

    setTimes(link, 1_600_000_000_999_999_999n, true);
    expect((await lstat(link, { bigint: true })).mtimeNs).toBe(1_600_000_000_999_999_999n);
    expect((await lstat(file, { bigint: true })).mtimeNs).toBe(1_795_656_767_137_367_001n);

    const handle = await open(file, 'r+');
    try {
      setTimesOfOpenFile(handle.fd, 1_234_567_890_000_000_123n);
    } finally {
      await handle.close();
    }
    expect((await lstat(file, { bigint: true })).mtimeNs).toBe(1_234_567_890_000_000_123n);
  });

  it('handles times before 1970', async () => {
    const file = join(dir, 'old');
    await writeFile(file, 'x');
    setTimes(file, -1_500_000_001n);
    expect((await lstat(file, { bigint: true })).mtimeNs).toBe(-1_500_000_001n);
  });

  it('throws an errno error for a missing path', () => {
    expect(() => setTimes(join(dir, 'absent'), 0n)).toThrow(/ENOENT|No such file/);
  });
});
