import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeBatch } from '../src/restore/file-writer.js';
import { dataRanges } from '../src/sparse-write.js';
import { useTempDir } from './temp-dir.js';

const K = 1024;
const dir = useTempDir('coffer-file-writer-');

describe('dataRanges', () => {
  it('skips whole zero blocks and merges the rest', () => {
    const bytes = Buffer.concat([
      randomBytes(10),
      Buffer.alloc(64 * K - 10),
      Buffer.alloc(128 * K),
      randomBytes(64 * K),
      Buffer.alloc(100),
    ]);
    expect(dataRanges(bytes)).toEqual([
      [0, 64 * K],
      [192 * K, 256 * K + 100],
    ]);
    expect(dataRanges(Buffer.alloc(256 * K))).toEqual([]);
    expect(dataRanges(Buffer.alloc(0))).toEqual([]);
  });
});

describe('writeBatch', () => {
  it('writes files with holes, mode and mtime, and renames them into place', async () => {
    const data = randomBytes(5000);
    const hole = Buffer.alloc(1024 * K);
    const mtimeNs = 1_700_000_000_123_456_000n;
    const sparse = Buffer.from(join(dir(), 'sparse'));
    const short = Buffer.from(join(dir(), 'short'));
    const [outcomes] = writeBatch({
      plaintexts: [data, hole],
      paths: Buffer.concat([sparse, short]),
      files: [
        {
          pathEnd: sparse.length,
          tempName: '.t1',
          parts: [0, 1, 1, 0],
          size: 2 * data.length + 2 * hole.length,
          mode: 0o640,
          uid: 0,
          gid: 0,
          mtimeNs,
          replaceDirectory: false,
        },
        {
          pathEnd: sparse.length + short.length,
          tempName: '.t2',
          parts: [0],
          size: 1,
          mode: 0o600,
          uid: 0,
          gid: 0,
          mtimeNs,
          replaceDirectory: false,
        },
      ],
      chown: false,
    });
    expect(outcomes[0]).toEqual({ ok: true });
    expect(outcomes[1]).toMatchObject({ ok: false, error: expect.stringMatching(/adds up to/) });
    const written = await readFile(join(dir(), 'sparse'));
    expect(written.equals(Buffer.concat([data, hole, hole, data]))).toBe(true);
    const st = await stat(join(dir(), 'sparse'), { bigint: true });
    expect(st.mode & 0o7777n).toBe(0o640n);
    expect(st.mtimeNs / 1000n).toBe(mtimeNs / 1000n);
    expect(Number(st.blocks) * 512).toBeLessThan(hole.length);
    await expect(stat(join(dir(), 'short'))).rejects.toThrow();
    await expect(stat(join(dir(), '.t2'))).rejects.toThrow();
  });

  it('writes a file at its destination when its directory is not in place yet', async () => {
    const data = randomBytes(300);
    const mtimeNs = 1_600_000_000_000_000_123n;
    const inside = join(dir(), 'not-in-place');
    await mkdir(inside);
    const whole = Buffer.from(join(inside, 'whole'));
    const torn = Buffer.from(join(inside, 'torn'));
    const file = { uid: 0, gid: 0, mtimeNs, replaceDirectory: false, tempName: undefined };
    const [outcomes] = writeBatch({
      plaintexts: [data],
      paths: Buffer.concat([whole, torn]),
      files: [
        { ...file, pathEnd: whole.length, parts: [0], size: data.length, mode: 0o604 },
        { ...file, pathEnd: whole.length + torn.length, parts: [0], size: 1, mode: 0o600 },
      ],
      chown: false,
    });
    expect(outcomes).toEqual([{ ok: true }, expect.objectContaining({ ok: false })]);
    expect((await readFile(whole)).equals(data)).toBe(true);
    const st = await stat(whole, { bigint: true });
    expect(st.mode & 0o7777n).toBe(0o604n);
    expect(st.mtimeNs).toBe(mtimeNs);
    // A file that could not be written whole is not left under its name.
    expect(await readdir(inside)).toEqual(['whole']);
  });
});
