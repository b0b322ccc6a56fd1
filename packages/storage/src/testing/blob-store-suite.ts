/**
 * @module testing/blob-store-suite
 * The behaviour every BlobStore adapter must have, as one suite each adapter's tests run.
 */
import { AlreadyExistsError, NotFoundError } from '@coffer/core';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidRangeError, type BlobStore } from '../blob-store.js';

export interface BlobStoreSuiteOptions {
  name: string;
  create: () => Promise<{ store: BlobStore; cleanup?: () => Promise<void> }>;
  skip?: { reason: string; tests: string[] }[];
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}

async function keys(store: BlobStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.list(prefix)) out.push(info.key);
  return out;
}

/** Registers the shared BlobStore tests for one adapter. */
export function runBlobStoreSuite(options: BlobStoreSuiteOptions): void {
  const skipped = new Set(options.skip?.flatMap((s) => s.tests) ?? []);
  const test = (name: string, fn: () => Promise<void>): void => {
    if (skipped.has(name)) it.skip(name, fn);
    else it(name, fn);
  };

  describe(`BlobStore: ${options.name}`, () => {
    let store: BlobStore;
    let cleanup: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      ({ store, cleanup } = await options.create());
    });
    afterEach(async () => {
      await cleanup?.();
    });

    test('stores and streams back whole objects, from buffers and from streams', async () => {
      await store.put('a/one', Buffer.from('hello'));
      expect((await collect(await store.get('a/one'))).toString()).toBe('hello');
      await store.put('a/empty', new Uint8Array(0));
      expect((await store.getBuffer('a/empty')).length).toBe(0);
      const big = randomBytes(20 * 1024 * 1024);
      async function* parts(): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < big.length; i += 1_000_003) yield big.subarray(i, i + 1_000_003);
      }
      expect(await store.put('big/object', parts())).toEqual({ size: big.length });
      expect((await collect(await store.get('big/object'))).equals(big)).toBe(true);
      expect((await store.head('big/object'))?.size).toBe(big.length);
    });

    test('reads exact ranges and refuses ranges past the end', async () => {
      const data = randomBytes(1000);
      await store.put('r', data);
      expect((await store.getRange('r', 0, 10)).equals(data.subarray(0, 10))).toBe(true);
      expect((await store.getRange('r', 999, 1)).equals(data.subarray(999))).toBe(true);
      expect((await store.getRange('r', 500, 0)).length).toBe(0);
      await expect(store.getRange('r', 995, 10)).rejects.toThrow(InvalidRangeError);
      await expect(store.getRange('missing', 0, 1)).rejects.toThrow(NotFoundError);
      await expect(store.get('missing')).rejects.toThrow(NotFoundError);
    });

    test('reads several ranges into one buffer, near or far apart, in the order asked', async () => {
      const data = randomBytes(300 * 1024);
      await store.put('rs', data);
      const ranges: [number, number][] = [
        [10, 5],
        [20, 0],
        [30, 100],
        [200 * 1024, 1000],
        [5, 3],
        [300 * 1024 - 1, 1],
      ];
      const want = Buffer.concat(ranges.map(([o, l]) => data.subarray(o, o + l)));
      expect((await store.getRanges('rs', ranges)).equals(want)).toBe(true);
      expect((await store.getRanges('rs', [])).length).toBe(0);
      await expect(
        store.getRanges('rs', [
          [0, 1],
          [300 * 1024, 1],
        ]),
      ).rejects.toThrow(InvalidRangeError);
      await expect(store.getRanges('missing', [[0, 1]])).rejects.toThrow(NotFoundError);
    });

    test('lists by prefix, sorted, including prefixes inside a name', async () => {
      for (const key of ['packs/ab/1', 'packs/ab/2', 'packs/ac/3', 'other/x'])
        await store.put(key, Buffer.from(key));
      expect(await keys(store, 'packs/')).toEqual(['packs/ab/1', 'packs/ab/2', 'packs/ac/3']);
      expect(await keys(store, 'packs/a')).toEqual(['packs/ab/1', 'packs/ab/2', 'packs/ac/3']);
      expect(await keys(store, 'packs/ab/')).toEqual(['packs/ab/1', 'packs/ab/2']);
      expect(await keys(store, 'none')).toEqual([]);
      expect(await keys(store, '')).toEqual(['other/x', 'packs/ab/1', 'packs/ab/2', 'packs/ac/3']);
    });

    test('deletes, and reports whether something was deleted', async () => {
      await store.put('d', Buffer.from('x'));
      expect(await store.delete('d')).toBe(true);
      expect(await store.delete('d')).toBe(false);
      expect(await store.head('d')).toBeUndefined();
    });

    test('ifAbsent refuses to replace; a plain put replaces', async () => {
      await store.put('k', Buffer.from('first'), { ifAbsent: true });
      await expect(store.put('k', Buffer.from('second'), { ifAbsent: true })).rejects.toThrow(
        AlreadyExistsError,
      );
      expect((await store.getBuffer('k')).toString()).toBe('first');
      await store.put('k', Buffer.from('third'));
      expect((await store.getBuffer('k')).toString()).toBe('third');
    });

    test('stores nothing when the source fails midway', async () => {
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield Buffer.from('partial');
        throw new Error('source broke');
      }
      await expect(store.put('broken/object', failing())).rejects.toThrow('source broke');
      expect(await store.head('broken/object')).toBeUndefined();
      expect(await keys(store, '')).toEqual([]);
    });

    test('refuses keys outside the contract', async () => {
      for (const key of [
        '../x',
        '/abs',
        'a//b',
        'a/./b',
        'a/../b',
        '',
        'spa ce',
        'x'.repeat(600),
      ]) {
        await expect(store.put(key, Buffer.from('x')), key).rejects.toThrow(
          /invalid blob store key/,
        );
      }
    });
  });
}
