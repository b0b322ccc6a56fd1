import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CHUNKER_PARAMS, StreamChunker, gearTable } from '../src/index.js';

function chunkIds(gear: Int32Array, data: Buffer): string[] {
  const chunker = new StreamChunker(gear, DEFAULT_CHUNKER_PARAMS);
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += 4 * 1024 * 1024)
    chunks.push(...chunker.push(data.subarray(i, i + 4 * 1024 * 1024)));
  chunks.push(...chunker.finish());
  return chunks.map((c) => createHash('sha256').update(c).digest('hex'));
}

describe('content-defined chunking', () => {
  it('changes at most 3 chunk ids when one byte is inserted near the start of a 64 MiB file', () => {
    const gear = gearTable(randomBytes(32));
    const data = randomBytes(64 * 1024 * 1024);
    const shifted = Buffer.concat([
      data.subarray(0, 1000),
      Buffer.from([0x42]),
      data.subarray(1000),
    ]);
    const before = new Set(chunkIds(gear, data));
    const after = chunkIds(gear, shifted);
    expect(after.filter((id) => !before.has(id)).length).toBeLessThanOrEqual(3);
  });

  it('is deterministic and keeps chunks within bounds', () => {
    const gear = gearTable(Buffer.alloc(32, 7));
    const data = randomBytes(24 * 1024 * 1024);
    const chunker = new StreamChunker(gear, DEFAULT_CHUNKER_PARAMS);
    const chunks = [...chunker.push(data), ...chunker.finish()];
    chunks.slice(0, -1).forEach((c) => {
      expect(c.length).toBeGreaterThanOrEqual(DEFAULT_CHUNKER_PARAMS.min);
      expect(c.length).toBeLessThanOrEqual(DEFAULT_CHUNKER_PARAMS.max);
    });
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    expect(chunkIds(gear, data)).toEqual(chunkIds(gear, data));
  });
});
