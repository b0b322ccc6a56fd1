import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inPieces } from '../src/backup/uploader.js';

describe('inPieces', () => {
  it('joins small blobs into pieces of at most 256 KiB, keeps large ones whole, in order', () => {
    const parts = [
      ...Array.from({ length: 100 }, () => randomBytes(4000)),
      randomBytes(300_000),
      ...Array.from({ length: 3 }, () => randomBytes(10)),
    ];
    const pieces = [...inPieces(parts)];
    expect(Buffer.concat(pieces).equals(Buffer.concat(parts))).toBe(true);
    expect(pieces.map((p) => p.length)).toEqual([260_000, 140_000, 300_000, 30]);
    expect([...inPieces([])]).toEqual([]);
  });
});
