import { BlobType, blobId, sealBlob } from '@coffer/core';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BlobReader } from '../src/client/blob-reader.js';
import { openAll } from '../src/client/open-pool.js';
import { Verifier } from '../src/verify/verify.js';
import { MemoryVault, backUp, keys } from './memory-vault.js';

describe('opening threads', () => {
  it('hand the bytes of a read back with the reply, moved rather than left to their collector', () => {
    const plaintext = randomBytes(3000);
    const id = blobId(keys.idKey, plaintext);
    const sealed = sealBlob(keys, BlobType.data, id, plaintext);
    const bytes = new Uint8Array(sealed);
    const [reply, transfer] = openAll(keys, {
      bytes,
      ids: new Uint8Array(id),
      types: new Uint8Array([BlobType.data]),
      spans: new Uint32Array([0, sealed.length]),
      keep: false,
    });
    expect(reply.results).toEqual([plaintext.length]);
    expect(reply.bytes).toBe(bytes);
    expect(transfer).toContain(bytes.buffer);
  });
});

describe('BlobReader.checkPack', () => {
  it('streams many packs through a few reused range buffers', async () => {
    const vault = new MemoryVault();
    // 20 MB of files in 4 MiB packs: five packs of two 2 MiB ranges each.
    const { point } = backUp(vault, 20, 50, 4 * 1024 * 1024, 20_000);
    expect(vault.packs.size).toBeGreaterThanOrEqual(5);
    const reader = new BlobReader(vault, 'ag_1', keys);
    const verifier = new Verifier(reader, true);
    await verifier.verifyPoint(point);
    expect(verifier.result.damage).toEqual([]);
    expect(verifier.result.blobsRead).toBe(1000);
    // One range filling and three opening, whatever the number of packs and ranges.
    expect(reader.rangeBuffersAllocated).toBeLessThanOrEqual(4);
  });
});
