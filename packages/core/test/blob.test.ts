import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BlobType, IntegrityError, blobId, openBlob, sealBlob } from '../src/index.js';

const keys = { encryptionKey: randomBytes(32), idKey: randomBytes(32) };

describe('blob codec', () => {
  it('round-trips every type, compressed when it pays and raw when it does not', () => {
    const text = Buffer.from('log line 200 OK\n'.repeat(10_000));
    const noise = randomBytes(1024 * 1024);
    for (const type of [BlobType.data, BlobType.tree, BlobType.manifest]) {
      for (const plaintext of [Buffer.alloc(0), text, noise]) {
        const id = blobId(keys.idKey, plaintext);
        const sealed = sealBlob(keys, type, id, plaintext);
        expect(openBlob(keys, type, id, sealed).equals(plaintext)).toBe(true);
      }
    }
    expect(sealBlob(keys, BlobType.data, blobId(keys.idKey, text), text)[2]).toBe(1);
    expect(sealBlob(keys, BlobType.data, blobId(keys.idKey, noise), noise)[2]).toBe(0);
  });

  it('gives every sealed blob its own nonce, across the random blocks nonces are cut from', () => {
    const plaintext = Buffer.from('same plaintext, same id');
    const id = blobId(keys.idKey, plaintext);
    const nonces = new Set<string>();
    // Three blocks' worth (1,024 nonces each), so refills are crossed.
    for (let i = 0; i < 3_000; i++) {
      const sealed = sealBlob(keys, BlobType.data, id, plaintext);
      nonces.add(sealed.subarray(4, 16).toString('hex'));
      expect(openBlob(keys, BlobType.data, id, sealed).equals(plaintext)).toBe(true);
    }
    expect(nonces.size).toBe(3_000);
  });

  it('opens transient plaintexts into one reused buffer, and large ones into their own', () => {
    const seal = (plaintext: Buffer) => {
      const id = blobId(keys.idKey, plaintext);
      return { plaintext, id, sealed: sealBlob(keys, BlobType.data, id, plaintext) };
    };
    const a = seal(Buffer.from('first blob, compressible. '.repeat(200)));
    const b = seal(Buffer.from('second blob, also compressible. '.repeat(300)));
    const large = seal(Buffer.from('large blob line\n'.repeat(100_000)));
    const openedA = openBlob(keys, BlobType.data, a.id, a.sealed, { transient: true });
    expect(openedA.equals(a.plaintext)).toBe(true);
    const openedB = openBlob(keys, BlobType.data, b.id, b.sealed, { transient: true });
    expect(openedB.equals(b.plaintext)).toBe(true);
    expect(openedA.buffer).toBe(openedB.buffer);
    const openedLarge = openBlob(keys, BlobType.data, large.id, large.sealed, { transient: true });
    expect(openedLarge.equals(large.plaintext)).toBe(true);
    expect(openedLarge.buffer).not.toBe(openedB.buffer);
    expect(openBlob(keys, BlobType.data, a.id, a.sealed).buffer).not.toBe(openedB.buffer);
  });

  it('detects every single flipped bit and names the blob', () => {
    const plaintext = Buffer.from('a small blob of plaintext for the bit flip test, '.repeat(3));
    const id = blobId(keys.idKey, plaintext);
    const sealed = sealBlob(keys, BlobType.data, id, plaintext, { compress: false });
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      const damaged = Buffer.from(sealed);
      damaged[bit >> 3]! ^= 1 << (bit & 7);
      expect(() => openBlob(keys, BlobType.data, id, damaged)).toThrow(IntegrityError);
    }
  });

  it('refuses another id, another type, another key, a key slot and an unknown version', () => {
    const plaintext = Buffer.from('content');
    const id = blobId(keys.idKey, plaintext);
    const sealed = sealBlob(keys, BlobType.tree, id, plaintext);
    const other = blobId(keys.idKey, Buffer.from('other'));
    const expectNamed = (fn: () => unknown, hex: string): void => {
      expect(fn).toThrow(IntegrityError);
      expect(fn).toThrow(hex);
    };
    expectNamed(() => openBlob(keys, BlobType.tree, other, sealed), other.toString('hex'));
    expectNamed(() => openBlob(keys, BlobType.data, id, sealed), id.toString('hex'));
    expectNamed(
      () => openBlob({ ...keys, encryptionKey: randomBytes(32) }, BlobType.tree, id, sealed),
      id.toString('hex'),
    );
    for (const [offset, value, message] of [
      [3, 1, /key slot/],
      [0, 2, /version 2/],
      [2, 9, /compression/],
    ] as const) {
      const changed = Buffer.from(sealed);
      changed[offset] = value;
      expect(() => openBlob(keys, BlobType.tree, id, changed)).toThrow(message);
    }
    expect(() => openBlob(keys, BlobType.tree, id, sealed.subarray(0, 31))).toThrow(IntegrityError);
  });
});
