import { BlobType, blobId, sealBlob } from '@coffer/core';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KnownIds } from '../src/backup/known-ids.js';
import { PackUploader } from '../src/backup/uploader.js';
import type { VaultClient } from '../src/client/vault-client.js';
import { keys } from './memory-vault.js';
import { useTempDir } from './temp-dir.js';

const dir = useTempDir('coffer-uploader-');

describe('PackUploader', () => {
  it('sends each pack in pieces of at most 256 KiB, and fills later packs in the same memory', async () => {
    const uploads: { name: string; size: number; pieces: Buffer[]; memory: ArrayBufferLike }[] = [];
    const client = {
      uploadPack: (name: string, size: number, chunks: () => Iterable<Uint8Array>) => {
        const pieces = [...chunks()];
        // Copied: once uploaded, a pack's memory is filled again.
        uploads.push({
          name,
          size,
          pieces: pieces.map((p) => Buffer.from(p)),
          memory: pieces[0]!.buffer,
        });
        return Promise.resolve({ name, size });
      },
    } as unknown as VaultClient;
    const known = await KnownIds.load(join(dir(), 'known-ids'));
    const uploader = new PackUploader(client, known, 3, 1024 * 1024);
    for (let i = 0; i < 60; i++) {
      const plaintext = randomBytes(100_000);
      const id = blobId(keys.idKey, plaintext);
      await uploader.add(id, BlobType.data, sealBlob(keys, BlobType.data, id, plaintext));
    }
    await uploader.flush();
    expect(uploads.length).toBeGreaterThanOrEqual(5);
    for (const { name, size, pieces } of uploads) {
      expect(Math.max(...pieces.map((p) => p.length))).toBeLessThanOrEqual(256 * 1024);
      const bytes = Buffer.concat(pieces);
      expect(bytes.length).toBe(size);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(name);
    }
    // One pack filling and three uploading at most, however many packs the backup makes.
    expect(new Set(uploads.map((u) => u.memory)).size).toBeLessThanOrEqual(4);
  });
});
