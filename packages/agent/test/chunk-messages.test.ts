import { BlobType, blobId, openBlob, type ChunkerParams } from '@coffer/core';
import { randomBytes } from 'node:crypto';
import { statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ChunkServer,
  ScanBatch,
  repliesOf,
  type ChunkAnswers,
  type ChunkBatch,
  type ChunkReply,
} from '../src/backup/chunk-messages.js';
import { FileChunker } from '../src/backup/file-chunker.js';
import { useTempDir } from './temp-dir.js';

const keys = { encryptionKey: randomBytes(32), idKey: randomBytes(32) };
const params: ChunkerParams = { name: 'fastcdc-gear32-v1', min: 1024, avg: 4096, max: 16384 };
const dir = useTempDir('coffer-chunk-messages-');

describe('packed small-file scans', () => {
  it('carry paths, sizes and mtimes to the chunking thread and sealed chunks back', () => {
    const files = new Map<number, Buffer>();
    const batch = new ScanBatch();
    // Sizes past the sealing buffer's first size (so it grows), several chunks per file, a
    // name that is not UTF-8, an mtime before 1970, and a file that is gone.
    for (let job = 0; job < 24; job++) {
      const name = Buffer.concat([Buffer.from(join(dir(), `f-${job}-`)), Buffer.from([0xff])]);
      const content = job % 3 === 0 ? randomBytes(60_000 + job) : Buffer.alloc(job * 700, job);
      writeFileSync(name, content);
      if (job === 5) utimesSync(name, -1_000_000.25, -1_000_000.25);
      const { mtimeNs } = statSync(name, { bigint: true });
      files.set(job, content);
      batch.scan(job, name, content.length, mtimeNs);
    }
    batch.scan(99, Buffer.from(join(dir(), 'absent')), 10, 0n);
    const answers: ChunkAnswers[] = [];
    const server = new ChunkServer(new FileChunker({ ...keys, chunker: params }), 8);
    server.serve(batch.take(), (one, transfer) =>
      // As between threads: cloned, the sealed buffer moved.
      answers.push(structuredClone(one, { transfer })),
    );
    expect(answers.length).toBe(4);
    const replies = new Map<number, ChunkReply>();
    for (const one of answers) for (const reply of repliesOf(one)) replies.set(reply.job, reply);
    expect(replies.get(99)).toMatchObject({ kind: 'failed', code: 'ENOENT' });
    for (const [job, content] of files) {
      const reply = replies.get(job);
      if (reply?.kind !== 'scanned') throw new Error(`job ${job}: ${reply?.kind}`);
      expect(reply).toMatchObject({ eof: true, changed: false, bytesRead: content.length });
      const chunks = reply.lengths.map((length, i) => {
        const id = Buffer.from(reply.ids.subarray(i * 32, i * 32 + 32));
        const plaintext = openBlob(keys, BlobType.data, id, reply.sealed![i] as Buffer);
        expect(plaintext.length).toBe(length);
        expect(id).toEqual(blobId(keys.idKey, plaintext));
        return plaintext;
      });
      expect(Buffer.concat(chunks)).toEqual(content);
      if (job % 3 === 0) expect(reply.lengths.length).toBeGreaterThan(1);
    }
  });

  it('answers a batch of only empty files (no sealed bytes at all)', () => {
    const path = join(dir(), 'empty');
    writeFileSync(path, '');
    const { mtimeNs } = statSync(path, { bigint: true });
    const batch = new ScanBatch();
    batch.scan(1, Buffer.from(path), 0, mtimeNs);
    batch.scan(2, Buffer.from(path), 0, mtimeNs);
    const replies: ChunkReply[] = [];
    new ChunkServer(new FileChunker({ ...keys, chunker: params }), 16).serve(
      batch.take(),
      (one, transfer) => replies.push(...repliesOf(structuredClone(one, { transfer }))),
    );
    expect(replies).toMatchObject([
      { kind: 'scanned', job: 1, lengths: [], bytesRead: 0, eof: true, changed: false },
      { kind: 'scanned', job: 2, lengths: [], bytesRead: 0, eof: true, changed: false },
    ]);
  });

  it('answers a small file that grew while listed as an object, then seals it on request', () => {
    const path = join(dir(), 'grew');
    const content = randomBytes(12_000);
    writeFileSync(path, content);
    const { mtimeNs } = statSync(path, { bigint: true });
    const server = new ChunkServer(new FileChunker({ ...keys, chunker: params }), 16);
    const ask = (batch: ChunkBatch): ChunkReply[] => {
      const replies: ChunkReply[] = [];
      server.serve(batch, (one, transfer) =>
        replies.push(...repliesOf(structuredClone(one, { transfer }))),
      );
      return replies;
    };
    const scans = new ScanBatch();
    scans.scan(4, Buffer.from(path), 2000, mtimeNs);
    let [reply] = ask(scans.take());
    const chunks: Buffer[] = [];
    for (;;) {
      if (reply?.kind !== 'scanned') throw new Error(`unexpected ${reply?.kind}`);
      expect(reply.sealed).toBeUndefined();
      const segment = reply;
      const seal = new ScanBatch();
      seal.request({ kind: 'seal', job: 4, wanted: segment.lengths.map((_, i) => i) });
      const answers = ask(seal.take());
      const sealed = answers[0]!;
      if (sealed.kind !== 'sealed') throw new Error(`unexpected ${sealed.kind}`);
      sealed.sealed.forEach((bytes, i) => {
        const id = Buffer.from(segment.ids.subarray(i * 32, i * 32 + 32));
        chunks.push(openBlob(keys, BlobType.data, id, bytes as Buffer));
      });
      if (segment.eof) {
        expect(sealed.changed).toBe(true);
        break;
      }
      reply = answers[1];
    }
    expect(Buffer.concat(chunks)).toEqual(content);
  });
});
