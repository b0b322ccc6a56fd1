import {
  BlobType,
  DEFAULT_CHUNKER_PARAMS,
  StreamChunker,
  blobId,
  gearTable,
  openBlob,
  type ChunkerParams,
} from '@coffer/core';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileChunker, type Scanned } from '../src/backup/file-chunker.js';
import { useTempDir } from './temp-dir.js';

const keys = { encryptionKey: randomBytes(32), idKey: randomBytes(32) };
const dir = useTempDir('coffer-file-chunker-');

/** The reference: core's stream chunker over the whole content. */
function reference(params: ChunkerParams, content: Buffer): Buffer[] {
  const chunker = new StreamChunker(gearTable(keys.idKey), params);
  return [...chunker.push(content), ...chunker.finish()];
}

/** Runs a FileChunker over a file, sealing every other chunk, and returns what it saw. */
async function chunkFile(
  params: ChunkerParams,
  content: Buffer,
  listedSize = content.length,
): Promise<{ ids: Buffer[]; lengths: number[]; sealed: Map<string, Buffer>; changed: boolean }> {
  const path = join(dir(), `f-${randomBytes(4).toString('hex')}`);
  await writeFile(path, content);
  const { mtimeNs } = await stat(path, { bigint: true });
  const chunker = new FileChunker({ ...keys, chunker: params });
  const ids: Buffer[] = [];
  const lengths: number[] = [];
  const sealed = new Map<string, Buffer>();
  let result = chunker.scan({ job: 1, path: Buffer.from(path), size: listedSize, mtimeNs });
  for (;;) {
    if ('code' in result) throw new Error(result.code);
    const segment: Scanned = result;
    const segmentIds = segment.lengths.map((_, i) =>
      Buffer.from(segment.ids.subarray(i * 32, i * 32 + 32)),
    );
    const wanted = segmentIds.map((_, i) => i).filter((i) => (ids.length + i) % 2 === 0);
    ids.push(...segmentIds);
    lengths.push(...segment.lengths);
    if (segment.sealed) {
      // A small file comes sealed whole with its scan.
      for (const i of wanted)
        sealed.set(segmentIds[i]!.toString('hex'), segment.sealed[i] as Buffer);
      return { ids, lengths, sealed, changed: segment.changed ?? false };
    }
    const [done, next] = chunker.seal(1, wanted);
    wanted.forEach((i, k) => sealed.set(segmentIds[i]!.toString('hex'), done.sealed[k] as Buffer));
    if (!next) return { ids, lengths, sealed, changed: done.changed ?? false };
    result = next;
  }
}

describe('FileChunker', () => {
  const small: ChunkerParams = { name: 'fastcdc-gear32-v1', min: 1024, avg: 4096, max: 16384 };

  it.each([0, 1, 1023, 16383, 16384, 16385, 100_000, 1_000_003])(
    'cuts a %i-byte file exactly as the stream chunker does and seals what it is asked for',
    async (size) => {
      const content = randomBytes(size);
      const expected = reference(small, content);
      const got = await chunkFile(small, content);
      expect(got.lengths).toEqual(expected.map((c) => c.length));
      expect(got.ids).toEqual(expected.map((c) => blobId(keys.idKey, c)));
      for (const [hex, sealed] of got.sealed) {
        const index = got.ids.findIndex((id) => id.toString('hex') === hex);
        expect(openBlob(keys, BlobType.data, got.ids[index]!, sealed)).toEqual(expected[index]);
      }
      expect(got.changed).toBe(false);
    },
  );

  it('finds the same chunks with the default parameters across segments and zero runs', async () => {
    const MiB = 1024 * 1024;
    const content = Buffer.concat([
      randomBytes(3 * MiB + 17),
      Buffer.alloc(20 * MiB),
      randomBytes(5 * MiB),
      Buffer.alloc(9 * MiB + 5),
      randomBytes(MiB),
    ]);
    const expected = reference(DEFAULT_CHUNKER_PARAMS, content);
    const got = await chunkFile(DEFAULT_CHUNKER_PARAMS, content);
    expect(got.lengths).toEqual(expected.map((c) => c.length));
    expect(got.ids).toEqual(expected.map((c) => blobId(keys.idKey, c)));
  });

  it('reads a file that grew past its listed size to its end and says it changed', async () => {
    const content = randomBytes(50_000);
    const got = await chunkFile(small, content, 3000);
    expect(got.lengths.reduce((a, b) => a + b, 0)).toBe(content.length);
    expect(got.ids).toEqual(reference(small, content).map((c) => blobId(keys.idKey, c)));
    expect(got.changed).toBe(true);
  });

  it('seals a small file with its scan and opens a name that is not UTF-8', async () => {
    const name = Buffer.concat([Buffer.from(join(dir(), 'latin-')), Buffer.from([0xff, 0xfe])]);
    // Under the chunker's minimum, so one chunk whatever the bytes.
    const content = randomBytes(small.min - 24);
    await writeFile(name, content);
    const { mtimeNs } = await stat(name, { bigint: true });
    const chunker = new FileChunker({ ...keys, chunker: small });
    const result = chunker.scan({ job: 9, path: name, size: content.length, mtimeNs });
    if ('code' in result) throw new Error(result.message);
    const id = Buffer.from(result.ids);
    expect(result).toMatchObject({ eof: true, changed: false, lengths: [content.length] });
    expect(openBlob(keys, BlobType.data, id, result.sealed![0] as Buffer)).toEqual(content);
  });

  it('keeps a grown small file whole while other small files are read', async () => {
    // Small files are read into one reused buffer; one that grew waits for the walking
    // thread's answer, so its bytes must not be those of the files read meanwhile.
    const grown = randomBytes(12_000);
    const path = join(dir(), 'grown');
    await writeFile(path, grown);
    const { mtimeNs } = await stat(path, { bigint: true });
    const chunker = new FileChunker({ ...keys, chunker: small });
    const first = chunker.scan({ job: 1, path: Buffer.from(path), size: 2000, mtimeNs });
    if ('code' in first) throw new Error(first.message);
    expect(first.eof).toBe(false);
    for (let i = 0; i < 3; i++) {
      const other = join(dir(), `other-${i}`);
      await writeFile(other, randomBytes(2001));
      const { mtimeNs: otherMtime } = await stat(other, { bigint: true });
      const result = chunker.scan({
        job: 10 + i,
        path: Buffer.from(other),
        size: 2001,
        mtimeNs: otherMtime,
      });
      expect(result).toMatchObject({ eof: true, changed: false });
    }
    const lengths = [...first.lengths];
    const wanted = first.lengths.map((_, i) => i);
    let [sealed, next] = chunker.seal(1, wanted);
    const chunks = sealed.sealed.map((bytes, i) =>
      openBlob(
        keys,
        BlobType.data,
        Buffer.from(first.ids.subarray(i * 32, i * 32 + 32)),
        bytes as Buffer,
      ),
    );
    while (next) {
      if ('code' in next) throw new Error(next.message);
      const segment = next;
      lengths.push(...segment.lengths);
      [sealed, next] = chunker.seal(
        1,
        segment.lengths.map((_, i) => i),
      );
      sealed.sealed.forEach((bytes, i) =>
        chunks.push(
          openBlob(
            keys,
            BlobType.data,
            Buffer.from(segment.ids.subarray(i * 32, i * 32 + 32)),
            bytes as Buffer,
          ),
        ),
      );
    }
    expect(Buffer.concat(chunks)).toEqual(grown);
    expect(lengths).toEqual(reference(small, grown).map((c) => c.length));
    expect(sealed.changed).toBe(true);
  });

  it('reports a directory that took the place of a small file as not a regular file', async () => {
    const path = join(dir(), 'now-a-directory');
    await mkdir(path);
    const chunker = new FileChunker({ ...keys, chunker: small });
    expect(chunker.scan({ job: 3, path: Buffer.from(path), size: 10, mtimeNs: 0n })).toMatchObject({
      job: 3,
      code: 'ENOTREG',
    });
  });

  it('does not hang on a FIFO that took the place of a file', async () => {
    const fifo = join(dir(), 'fifo');
    execFileSync('mkfifo', [fifo]);
    const chunker = new FileChunker({ ...keys, chunker: small });
    const result = chunker.scan({ job: 8, path: Buffer.from(fifo), size: 10, mtimeNs: 0n });
    expect(result).toMatchObject({ job: 8, code: 'ENOTREG' });
  });

  it('reports a file it cannot open as a failure with its errno code', () => {
    const chunker = new FileChunker({ ...keys, chunker: small });
    const result = chunker.scan({
      job: 7,
      path: Buffer.from(join(dir(), 'absent')),
      size: 10,
      mtimeNs: 0n,
    });
    expect(result).toMatchObject({ job: 7, code: 'ENOENT' });
  });
});
