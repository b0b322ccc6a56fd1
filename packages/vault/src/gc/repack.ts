/**
 * @module gc/repack
 * Copies the blobs of packs that are mostly garbage (or small) into new packs, byte for byte:
 * the vault has no key, and needs none, since a sealed blob is valid wherever it lies. New
 * packs get their footer and trailer from the format code (PackWriter, docs/format.md §5) and
 * are named by the SHA-256 of their bytes; blob ids stay the same. The rows move to the new
 * pack in the same transaction that records it; the old pack is then condemned, and deleted
 * after the grace period by a later run.
 */
import { AlreadyExistsError, PackWriter, checkBlobHeader, type BlobType } from '@coffer/core';
import type { VaultContext } from '../context.js';
import { markPack, readFailure } from '../pack-health.js';
import { packKey } from '../pack-keys.js';
import type { GcCopy, GcIndex, GcPack } from './gc-index.js';

/** A blob header in an old pack differs from its row. */
class DamagedPack extends Error {}

/**
 * Most blobs in one new pack: a pack is cut at its target size in blob bytes, but a pack of
 * tiny blobs would otherwise hold hundreds of thousands of footer entries in memory at once.
 */
export const MAX_PACK_BLOBS = 20_000;

/** Largest single ranged read of an old pack. */
const MAX_READ = 8 * 1024 * 1024;

export interface RepackResult {
  /** Old packs whose every blob now lives in a new pack. */
  packsRepacked: number;
  packsWritten: number;
  bytesWritten: number;
  blobsMoved: number;
}

/** Runs of rows that lie back to back, at most MAX_READ bytes each (one ranged read). */
function ranges(rows: readonly GcCopy[]): GcCopy[][] {
  const out: GcCopy[][] = [];
  let run: GcCopy[] = [];
  let start = 0;
  let end = 0;
  for (const row of rows) {
    const contiguous = run.length > 0 && row.offset === end;
    if (!contiguous || row.offset + row.length - start > MAX_READ) {
      if (run.length > 0) out.push(run);
      run = [];
      start = row.offset;
    }
    run.push(row);
    end = row.offset + row.length;
  }
  if (run.length > 0) out.push(run);
  return out;
}

/**
 * Copies every blob row of `packs` into new packs of about `targetSize` bytes, each with the
 * refs its old footer lists, and condemns the old packs whose rows all moved. A pack that
 * cannot be read is marked (pack health) and keeps the rows not copied yet.
 */
export async function repack(
  vault: Pick<VaultContext, 'db' | 'store' | 'now'>,
  index: GcIndex,
  keyringId: string,
  packs: readonly GcPack[],
  targetSize: number,
  progress: () => Promise<void>,
): Promise<RepackResult> {
  const result: RepackResult = {
    packsRepacked: 0,
    packsWritten: 0,
    bytesWritten: 0,
    blobsMoved: 0,
  };
  const writer = new PackWriter({ targetSize });

  const flush = async (): Promise<void> => {
    if (writer.count === 0) return;
    const pack = writer.finish();
    try {
      await vault.store.put(
        packKey(keyringId, pack.name),
        pack.bytes.length === 1 ? pack.bytes[0]! : Buffer.concat(pack.bytes),
        {
          ifAbsent: true,
        },
      );
    } catch (error) {
      // The same bytes stored already (a run that stopped after the put): they are these.
      if (!(error instanceof AlreadyExistsError)) throw error;
    }
    await index.addPack(
      keyringId,
      { name: pack.name, size: pack.size },
      pack.entries.map((e) => ({
        id: e.id.toString('hex'),
        offset: e.offset,
        length: e.length,
        type: e.type,
      })),
      vault.now(),
    );
    result.blobsMoved += pack.entries.length;
    result.packsWritten++;
    result.bytesWritten += pack.size;
  };

  for (const old of packs) {
    const { rows, unreadable } = await index.blobsToCopy(keyringId, old);
    if (unreadable) await markPack(vault, keyringId, old.name, unreadable);
    const key = packKey(keyringId, old.name);
    try {
      for (const run of ranges(rows)) {
        const first = run[0]!;
        const last = run[run.length - 1]!;
        const bytes = await vault.store.getRange(
          key,
          first.offset,
          last.offset + last.length - first.offset,
        );
        for (const row of run) {
          const sealed = bytes.subarray(
            row.offset - first.offset,
            row.offset - first.offset + row.length,
          );
          const type = row.type as BlobType;
          // The copy must be what the row says it is: bytes that changed on disk since the
          // upload was checked are evidence of damage, and the pack is left alone.
          try {
            checkBlobHeader(sealed, { type, offset: row.offset });
          } catch {
            throw new DamagedPack();
          }
          writer.add(row.id, type, sealed, row.refs);
          if (writer.full || writer.count >= MAX_PACK_BLOBS) await flush();
        }
      }
    } catch (error) {
      const state = error instanceof DamagedPack ? 'damaged' : readFailure(error);
      if (!state) throw error;
      await markPack(vault, keyringId, old.name, state);
    }
    await progress();
  }
  await flush();
  const condemned = await index.condemnPacks(keyringId, packs, vault.now());
  result.packsRepacked = condemned.length;
  return result;
}
