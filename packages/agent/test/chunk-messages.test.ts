import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { gather } from '../src/backup/chunk-messages.js';

describe('gather', () => {
  it('moves sealed chunks of several files into one block, each list pointing at its bytes', () => {
    const lists = [[randomBytes(100), randomBytes(5)], [randomBytes(4000)], [Buffer.alloc(0)]];
    const copies = lists.map((list) => list.map((part) => Buffer.from(part)));
    const block = gather(lists);
    expect(block.byteLength).toBe(4105);
    lists.forEach((list, i) =>
      list.forEach((part, k) => {
        expect(part.buffer).toBe(block);
        expect(Buffer.from(part).equals(copies[i]![k]!)).toBe(true);
      }),
    );
  });
});
