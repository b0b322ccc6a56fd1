import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BlobType,
  FormatError,
  PackWriter,
  blobId,
  parsePack,
  sealBlob,
  verifyPackStream,
  type MasterKeys,
} from '../src/index.js';

const keys: MasterKeys = {
  keyringId: '0'.repeat(32),
  encryptionKey: Buffer.alloc(32, 1),
  idKey: Buffer.alloc(32, 2),
  chunker: { name: 'fastcdc-gear32-v1', min: 524288, avg: 1048576, max: 8388608 },
};

/** A pack whose footer calls the data blob `plain` a tree. */
function lyingPack(before: Buffer[] = []): { name: string; bytes: Buffer[] } {
  const writer = new PackWriter({ targetSize: Number.MAX_SAFE_INTEGER });
  const plain = Buffer.from('file content');
  const id = blobId(keys.idKey, plain);
  writer.add(id, BlobType.tree, sealBlob(keys, BlobType.data, id, plain));
  for (const sealed of before) {
    // Raw bytes with a valid data header: the verifier looks at headers only.
    writer.add(randomBytes(32), BlobType.data, sealed);
  }
  return writer.finish();
}

async function* stream(parts: Buffer[], piece = 64 * 1024): AsyncGenerator<Buffer> {
  for (const part of parts)
    for (let i = 0; i < part.length; i += piece) yield part.subarray(i, i + piece);
}

describe('pack verifier: header and footer types', () => {
  it('refuses a pack whose footer says tree for a data blob, like the whole-pack parser', async () => {
    const pack = lyingPack();
    expect(() => parsePack(Buffer.concat(pack.bytes))).toThrow(FormatError);
    await expect(verifyPackStream(stream(pack.bytes, 7), pack.name)).rejects.toThrow(
      /header says type 1, the footer 2/,
    );
  });

  it('accepts an honest pack whose headers straddle stream pieces', async () => {
    const writer = new PackWriter();
    for (let i = 0; i < 20; i++) {
      const plain = randomBytes(100 + i);
      const id = blobId(keys.idKey, plain);
      writer.add(id, BlobType.data, sealBlob(keys, BlobType.data, id, plain));
    }
    const pack = writer.finish();
    for (const piece of [1, 3, 17, 4096]) {
      const verified = await verifyPackStream(stream(pack.bytes, piece), pack.name);
      expect(verified.blobs).toBe(20);
      expect(verified.headersUnchecked).toEqual([]);
    }
  });

  it('hands back the headers that streamed past before the kept tail (packs over 64 MiB)', async () => {
    const big = Buffer.alloc(65 * 1024 * 1024, 7);
    big[0] = 1;
    big[1] = BlobType.data;
    const pack = lyingPack([big]);
    const verified = await verifyPackStream(stream(pack.bytes, 1024 * 1024), pack.name);
    // The lying blob and the start of the big one lie more than 64 MiB before the end.
    expect(verified.headersUnchecked.map((e) => e.offset)).toEqual([0, 44]);
    expect(verified.headersUnchecked[0]!.type).toBe(BlobType.tree);
  });
});
