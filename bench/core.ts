/**
 * Single-core throughput of the core engine next to Node's raw primitives on the same buffers,
 * so the overhead of our code is visible. Run with `npm run bench:core` (not part of npm test).
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import {
  BlobType,
  DEFAULT_CHUNKER_PARAMS,
  PackWriter,
  StreamChunker,
  blobId,
  gearTable,
  sealBlob,
} from '@coffer/core';

const SIZE = Number(process.env.BENCH_MB ?? 256) * 1024 * 1024;
const BLOCK = 4 * 1024 * 1024;

function text(size: number): Buffer {
  const words = [
    'alpha',
    'bravo',
    'charlie',
    'delta',
    'echo',
    'foxtrot',
    'golf',
    'hotel',
    '200',
    'GET',
  ];
  const parts: string[] = [];
  let length = 0;
  let x = 12345;
  while (length < size) {
    x = (x * 1103515245 + 12345) >>> 0;
    const line = `${new Date(1_700_000_000_000 + x).toISOString()} ${words[x % 10]} /api/${x % 997} ${words[(x >> 8) % 10]}\n`;
    parts.push(line);
    length += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

function measure(label: string, bytes: number, work: () => void): number {
  work(); // warm up
  const start = process.hrtime.bigint();
  work();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rate = bytes / seconds / 1e6;
  console.log(`${label.padEnd(44)} ${rate.toFixed(0).padStart(6)} MB/s`);
  return rate;
}

function blocks(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += BLOCK) out.push(data.subarray(i, i + BLOCK));
  return out;
}

const keys = { encryptionKey: randomBytes(32), idKey: randomBytes(32) };
const gear = gearTable(keys.idKey);
const random = randomBytes(SIZE);
const logs = text(SIZE);
const chunksOf = (data: Buffer): Buffer[] => {
  const chunker = new StreamChunker(gear, DEFAULT_CHUNKER_PARAMS);
  const chunks: Buffer[] = [];
  for (const b of blocks(data)) chunks.push(...chunker.push(b));
  chunks.push(...chunker.finish());
  return chunks;
};
const randomChunks = chunksOf(random);
const logChunks = chunksOf(logs);

console.log(
  `Coffer core benchmark: ${SIZE / 1024 / 1024} MiB per run, one core, Node ${process.version}`,
);
console.log(`chunks: random ${randomChunks.length}, logs ${logChunks.length}\n`);

measure('node sha256 (raw)', SIZE, () => {
  for (const c of randomChunks) createHash('sha256').update(c).digest();
});
measure('node aes-256-gcm (raw)', SIZE, () => {
  for (const c of randomChunks) {
    const cipher = createCipheriv('aes-256-gcm', keys.encryptionKey, randomBytes(12));
    cipher.update(c);
    cipher.final();
    cipher.getAuthTag();
  }
});
measure('chunking (random)', SIZE, () => void chunksOf(random));
measure('chunking (logs)', SIZE, () => void chunksOf(logs));
measure('id hashing: HMAC-SHA256', SIZE, () => {
  for (const c of randomChunks) blobId(keys.idKey, c);
});
measure('sealing incompressible (zstd probe + GCM)', SIZE, () => {
  for (const c of randomChunks) sealBlob(keys, BlobType.data, blobId(keys.idKey, c), c);
});
measure('sealing compressible logs (zstd + GCM)', SIZE, () => {
  for (const c of logChunks) sealBlob(keys, BlobType.data, blobId(keys.idKey, c), c);
});
for (const [label, data] of [
  ['pipeline random: chunk+id+seal+pack', random],
  ['pipeline logs: chunk+id+seal+pack', logs],
] as const) {
  measure(label, SIZE, () => {
    const writer = new PackWriter();
    const chunker = new StreamChunker(gear, DEFAULT_CHUNKER_PARAMS);
    const add = (c: Buffer): void => {
      const id = blobId(keys.idKey, c);
      writer.add(id, BlobType.data, sealBlob(keys, BlobType.data, id, c));
      if (writer.full) writer.finish();
    };
    for (const b of blocks(data)) for (const c of chunker.push(b)) add(c);
    for (const c of chunker.finish()) add(c);
    if (writer.count > 0) writer.finish();
  });
}
