import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KnownIds } from '../src/backup/known-ids.js';
import { useTempDir } from './temp-dir.js';

const dir = useTempDir('coffer-known-ids-');

describe('KnownIds.load', () => {
  it('reads every id of a file larger than one piece, and ignores a torn last id', async () => {
    // 40,000 ids (1.28 MB) cross the 1 MiB pieces the file is read in; 10 bytes of a torn append.
    const ids = randomBytes(40_000 * 32);
    const path = join(dir(), 'known-ids');
    await writeFile(path, Buffer.concat([ids, randomBytes(10)]));
    const known = await KnownIds.load(path);
    expect(known.size).toBe(40_000);
    for (let at = 0; at < ids.length; at += 32) {
      if (!known.has(ids.subarray(at, at + 32))) throw new Error(`id ${at / 32} not loaded`);
    }
  });

  it('loads an absent or empty file as no ids', async () => {
    expect((await KnownIds.load(join(dir(), 'absent'))).size).toBe(0);
    const empty = join(dir(), 'empty');
    await writeFile(empty, Buffer.alloc(0));
    expect((await KnownIds.load(empty)).size).toBe(0);
  });
});
