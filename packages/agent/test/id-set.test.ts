import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IdSet } from '../src/backup/id-set.js';

describe('IdSet', () => {
  it('holds what was added across growth, and nothing else', () => {
    const set = new IdSet();
    const ids = Array.from({ length: 5000 }, () => randomBytes(32));
    for (const id of ids) expect(set.add(id)).toBe(true);
    expect(set.add(ids[17]!)).toBe(false);
    expect(set.size).toBe(5000);
    for (const id of ids) expect(set.has(id)).toBe(true);
    for (let i = 0; i < 1000; i++) expect(set.has(randomBytes(32))).toBe(false);
  });

  it('fills its table to three quarters before doubling it', () => {
    const set = new IdSet();
    for (let i = 0; i < 3000; i++) set.add(randomBytes(32));
    // 3,000 ids in 4,096 slots; at a load of one half they took 8,192 (the 1M-file backup's
    // table doubled to 128 MiB near its end).
    expect(set.bytes).toBe(4096 * 32);
    expect(new IdSet(3000).bytes).toBe(4096 * 32);
  });

  it('reads ids at an offset and lists every id once, the all-zero id included', () => {
    const set = new IdSet();
    const packed = Buffer.concat([Buffer.alloc(32), randomBytes(32), randomBytes(32)]);
    for (let at = 0; at < packed.length; at += 32) set.add(packed, at);
    expect(set.has(packed, 32)).toBe(true);
    expect(set.has(Buffer.alloc(32))).toBe(true);
    const listed = set.ids();
    const hex = (b: Buffer, n: number): string[] =>
      Array.from({ length: n }, (_, i) => b.toString('hex', i * 32, i * 32 + 32)).sort();
    expect(hex(listed, 3)).toEqual(hex(packed, 3));
  });

  it('tells ids apart that share their first bytes (same slot)', () => {
    const set = new IdSet();
    const a = randomBytes(32);
    const b = Buffer.from(a);
    b[31]! ^= 1;
    set.add(a);
    expect(set.has(b)).toBe(false);
    set.add(b);
    expect(set.has(a) && set.has(b)).toBe(true);
    expect(set.size).toBe(2);
  });
});

describe('IdSet.delete', () => {
  it('removes ids while every other id stays found, through long probe runs', () => {
    // Ids sharing their first bytes crowd a few slots, so deletions must shift runs back.
    const id = (home: number, tail: number) => {
      const b = randomBytes(32);
      b.writeUInt32LE(home, 0);
      b.writeUInt32LE(tail, 4);
      return b;
    };
    const set = new IdSet();
    const live = new Map<string, Buffer>();
    for (let round = 0; round < 4000; round++) {
      const b = id(round % 7 === 0 ? 1023 : round % 13, round);
      set.add(b);
      live.set(b.toString('hex'), b);
      if (round % 3 === 0) {
        const [key, victim] = [...live][(round * 7919) % live.size]!;
        expect(set.delete(victim)).toBe(true);
        expect(set.delete(victim)).toBe(false);
        live.delete(key);
      }
    }
    expect(set.size).toBe(live.size);
    for (const b of live.values()) expect(set.has(b)).toBe(true);
    expect(set.ids().length).toBe(live.size * 32);
    expect(set.delete(Buffer.alloc(32))).toBe(false);
    set.add(Buffer.alloc(32));
    expect(set.delete(Buffer.alloc(32))).toBe(true);
    expect(set.has(Buffer.alloc(32))).toBe(false);
  });
});
