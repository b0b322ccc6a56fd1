import fc from 'fast-check';
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BlobType,
  CofferError,
  PackVerifier,
  PackWriter,
  blobId,
  decodeManifest,
  decodeTree,
  encodeManifest,
  encodeTree,
  openBlob,
  parseKeyring,
  parsePack,
  readBlobHeader,
  sealBlob,
} from '../src/index.js';
import { BLOB_KEYS, MANIFEST, TREES, packBlobs } from './vector-inputs.js';

/** Runs `decode` and fails the test if it throws anything but a CofferError. */
function onlyTypedErrors(decode: () => unknown): void {
  try {
    decode();
  } catch (error) {
    if (!(error instanceof CofferError)) throw error;
  }
}

/** Random mutations of a valid input: bit flips, truncation, insertion, overwrite. */
function mutated(valid: Buffer): fc.Arbitrary<Buffer> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
    fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([i, bit]) => {
      const b = Buffer.from(valid);
      if (b.length > 0) b[i % b.length]! ^= 1 << bit;
      return b;
    }),
    fc.nat().map((n) => valid.subarray(0, n % (valid.length + 1))),
    fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([i, ins]) => {
      const at = i % (valid.length + 1);
      return Buffer.concat([valid.subarray(0, at), Buffer.from(ins), valid.subarray(at)]);
    }),
    fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 10 })).map(([i, over]) => {
      const b = Buffer.from(valid);
      Buffer.from(over).copy(b, i % Math.max(1, b.length));
      return b;
    }),
  );
}

const RUNS = { numRuns: 2000 };

describe('decoders under random and mutated input', () => {
  it('tree decoder throws only typed errors', () => {
    const valid = encodeTree(TREES[1]!.entries);
    fc.assert(
      fc.property(mutated(valid), (b) => onlyTypedErrors(() => decodeTree(b))),
      RUNS,
    );
  });

  it('manifest decoder throws only typed errors', () => {
    const valid = encodeManifest(MANIFEST);
    fc.assert(
      fc.property(mutated(valid), (b) => onlyTypedErrors(() => decodeManifest(b))),
      RUNS,
    );
  });

  it('pack parser and streaming verifier throw only typed errors', () => {
    const writer = new PackWriter();
    for (const b of packBlobs()) writer.add(b.id, b.type, b.sealed, b.refs);
    const valid = Buffer.concat(writer.finish().bytes);
    fc.assert(
      fc.property(mutated(valid), (b) => {
        onlyTypedErrors(() => parsePack(b));
        onlyTypedErrors(() => {
          const v = new PackVerifier();
          v.update(b);
          v.finish();
        });
      }),
      RUNS,
    );
  });

  it('blob opener throws only typed errors naming the id', () => {
    const plaintext = Buffer.from('some plaintext '.repeat(20));
    const id = blobId(BLOB_KEYS.idKey, plaintext);
    const valid = sealBlob(BLOB_KEYS, BlobType.data, id, plaintext);
    fc.assert(
      fc.property(mutated(valid), (b) => {
        onlyTypedErrors(() => readBlobHeader(b));
        try {
          const opened = openBlob(BLOB_KEYS, BlobType.data, id, b);
          expect(opened.equals(plaintext)).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(CofferError);
          expect((error as Error).message).toContain(id.toString('hex'));
        }
      }),
      RUNS,
    );
  });

  it('keyring parser throws only typed errors', () => {
    const valid = Buffer.from(
      JSON.stringify({
        format: 'coffer-keyring',
        version: 1,
        id: '00112233445566778899aabbccddeeff',
        kdf: { name: 'scrypt', N: 1024, r: 8, p: 1, salt: randomBytes(32).toString('base64') },
        wrap: {
          name: 'AES-256-GCM',
          nonce: randomBytes(12).toString('base64'),
          sealed: randomBytes(80).toString('base64'),
        },
        algorithms: {
          id: 'HMAC-SHA256',
          cipher: 'AES-256-GCM',
          compression: 'zstd',
          chunker: { name: 'fastcdc-gear32-v1', min: 524288, avg: 1048576, max: 8388608 },
        },
        createdAt: '2026-01-01T00:00:00.000Z',
      }),
    );
    expect(parseKeyring(valid).id).toBe('00112233445566778899aabbccddeeff');
    fc.assert(
      fc.property(mutated(valid), (b) => onlyTypedErrors(() => parseKeyring(b))),
      RUNS,
    );
    fc.assert(
      fc.property(fc.json(), (text) => onlyTypedErrors(() => parseKeyring(text))),
      { numRuns: 500 },
    );
  });

  it('refuses a zstd frame that declares a huge size before allocating it', () => {
    // A valid zstd frame header declaring 2^40 bytes (FCS flag 3), sealed with a correct tag.
    const frame = Buffer.concat([
      Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xc0]),
      Buffer.from([0, 0, 0, 0, 0, 1, 0, 0]),
      Buffer.from([1, 0, 0]),
    ]);
    const id = randomBytes(32);
    const nonce = randomBytes(12);
    const header = Buffer.concat([Buffer.from([1, BlobType.data, 1, 0]), nonce]);
    const cipher = createCipheriv('aes-256-gcm', BLOB_KEYS.encryptionKey, nonce);
    cipher.setAAD(Buffer.concat([header, id]));
    const sealed = Buffer.concat([
      header,
      cipher.update(frame),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    expect(() => openBlob(BLOB_KEYS, BlobType.data, id, sealed)).toThrow(
      /declares .* content size/,
    );
  });
});
