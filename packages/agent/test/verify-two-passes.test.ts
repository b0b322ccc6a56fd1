import { BlobType } from '@coffer/core';
import { describe, expect, it } from 'vitest';
import { BlobReader } from '../src/client/blob-reader.js';
import { Verifier } from '../src/verify/verify.js';
import { MemoryVault, backUp, keys } from './memory-vault.js';

async function verify(vault: MemoryVault, point: string) {
  const verifier = new Verifier(new BlobReader(vault, 'ag_1', keys), true, {
    treeBatch: 4,
    locateBatch: 25,
  });
  await verifier.verifyPoint(point);
  return verifier.result;
}

describe('Verifier', () => {
  it('checks a clean point in one pass: every tree read once, ids located in bounded batches', async () => {
    const vault = new MemoryVault();
    const { point } = backUp(vault, 30, 40);
    const result = await verify(vault, point);
    expect(result.damage).toEqual([]);
    expect(result).toMatchObject({ trees: 31, files: 1200, blobsRead: 1200 });
    expect(result.packsChecked).toBe(vault.packs.size);
    // No second walk: a path is never made for a point without damage.
    expect(vault.treesRead).toBe(31);
    expect(Math.max(...vault.locates)).toBeLessThanOrEqual(25);
  });

  it('names the files of a damaged and of a missing pack in a second pass', async () => {
    const vault = new MemoryVault();
    const { point, fileBlobs } = backUp(vault, 30, 40);
    const dataPacks = [...vault.packs.keys()].filter((name) =>
      [...vault.index.values()].every((l) => l.pack !== name || l.type === BlobType.data),
    );
    expect(dataPacks.length).toBeGreaterThanOrEqual(2);
    const [flipped, gone] = dataPacks as [string, string];
    const victim = [...vault.index.values()].find((l) => l.pack === flipped)!;
    vault.packs.get(flipped)![victim.offset + 20]! ^= 1;
    vault.packs.delete(gone);
    const inPack = (pack: string): string[] =>
      [...fileBlobs].filter(([, id]) => vault.index.get(id)!.pack === pack).map(([p]) => p);

    const result = await verify(vault, point);
    const named = result.damage.filter((d) => d.path !== '').map((d) => d.path);
    expect(named.sort()).toEqual(
      [...fileBlobs]
        .filter(([, id]) => id === victim.id || vault.index.get(id)!.pack === gone)
        .map(([p]) => p)
        .sort(),
    );
    expect(inPack(gone).length).toBeGreaterThan(1);
    expect(
      result.damage
        .filter((d) => d.path === '')
        .map((d) => d.blob)
        .sort(),
    ).toEqual([flipped, gone].sort());
    expect(result.packs.map((p) => p.pack).sort()).toEqual([flipped, gone].sort());
    // The trees were walked twice: once to check, once more to name what is damaged.
    expect(vault.treesRead).toBe(62);
  });
});
