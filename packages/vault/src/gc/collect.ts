/**
 * @module gc/collect
 * Garbage collection of one keyring without a key (docs/gc.md): mark from every point's
 * manifest through the plaintext refs of pack footers, then condemn what nothing reaches,
 * delete what stayed condemned past the grace period, and repack packs that are mostly garbage
 * or small. Memory: one IdSet (64 bytes per blob at most) and the work queue of the walk.
 */
import type { GcJobResult } from '@coffer/api';
import type { VaultContext } from '../context.js';
import { indexPendingPacks } from '../pack-indexer.js';
import { packKey } from '../pack-keys.js';
import { GcIndex, type GcPack } from './gc-index.js';
import { IdQueue, IdSet } from './id-set.js';
import { MAX_PACK_BLOBS, repack } from './repack.js';

const BATCH = 500;
/** Ids per write transaction of the sweep (one sync of the database each). */
const WRITE_BATCH = 5000;
/** Packs condemned or deleted between two calls of `progress`. */
const PACK_BATCH = 500;

export interface GcOptions {
  /**
   * How long a blob stays condemned (not reported as stored, but kept and revivable) before it
   * is deleted, and a pack stays readable after its last blob left it. Must exceed the longest
   * backup, so that a backup in flight never loses a blob it was told exists.
   */
  graceMs: number;
  /** Repack a pack whose live bytes are below this share of its size (0–1). */
  repackBelow: number;
  /** Packs smaller than this are merged (when there are at least two to merge). */
  smallPackBytes: number;
  /** Size at which a new pack is cut. */
  targetPackBytes: number;
}

/** What one GC run did (over one keyring, or summed over a vault's); see GcJobResult. */
export type GcResult = GcJobResult;

/** An all-zero result, to sum keyrings into. */
export function emptyResult(): GcResult {
  return {
    bytesBefore: 0,
    bytesAfter: 0,
    packsBefore: 0,
    packsAfter: 0,
    blobsBefore: 0,
    blobsAfter: 0,
    blobsLive: 0,
    blobsCondemned: 0,
    blobsRevived: 0,
    blobsSwept: 0,
    bytesSwept: 0,
    packsRepacked: 0,
    packsWritten: 0,
    packsDeleted: 0,
    markSetBytes: 0,
  };
}

/** Adds `b` into `a` (the mark set's bytes: the largest). */
export function addResult(a: GcResult, b: GcResult): GcResult {
  for (const key of Object.keys(a) as (keyof GcResult)[]) {
    a[key] = key === 'markSetBytes' ? Math.max(a[key], b[key]) : a[key] + b[key];
  }
  return a;
}

interface PackTally {
  /** Rows left pointing into the pack. */
  rows: number;
  /** Bytes of reachable blobs in it, with their footer entries. */
  live: number;
  /** Condemned rows still inside their grace period. */
  pending: number;
}

const sum = (packs: readonly GcPack[]): number => packs.reduce((n, p) => n + p.size, 0);

/**
 * Collects the garbage of keyring `keyringId`. `progress` is called between batches (the job
 * runner's heartbeat). Only blobs condemned by an earlier run (before `now - graceMs`) are
 * deleted, so a blob is never condemned and deleted by the same run.
 */
export async function collectKeyring(
  vault: Pick<VaultContext, 'db' | 'dialect' | 'store' | 'now'>,
  keyringId: string,
  options: GcOptions,
  progress: () => Promise<void> = () => Promise.resolve(),
): Promise<GcResult> {
  // Uploads not indexed yet join the index first, so that GC judges every pack stored, those
  // of a backup that never committed included. A backup still running revives at its commit
  // what this run condemns of its uploads, as when it was indexed on upload.
  await indexPendingPacks(vault, keyringId);
  const index = new GcIndex(vault);
  const result = emptyResult();
  const now = vault.now();
  // Strictly before this run: a blob this run condemns is never deleted by it.
  const cutoff = Math.min(now - options.graceMs, now - 1);
  const packsBefore = await index.packs(keyringId);
  result.packsBefore = packsBefore.length;
  result.bytesBefore = sum(packsBefore);

  // Mark: every point row is a root (live and soft-deleted points both; purged ones are gone).
  const marked = new IdSet((await index.blobCount(keyringId)) + 1024);
  const queue = new IdQueue();
  for await (const batch of index.roots(keyringId)) {
    for (const id of batch) if (marked.add(id)) queue.push(id);
  }
  let batches = 0;
  while (queue.size > 0) {
    for (const refs of await index.refsOf(keyringId, queue.take(BATCH))) {
      for (let o = 0; o + 32 <= refs.length; o += 32) if (marked.add(refs, o)) queue.push(refs, o);
    }
    if (++batches % 20 === 0) await progress();
  }
  result.markSetBytes = marked.bytes;

  // Sweep: condemn the unreachable, revive the reachable, delete what stayed condemned. Writes
  // go in batches of WRITE_BATCH ids, each one transaction (one sync of the database).
  const tally = new Map<string, PackTally>();
  // A footer entry is an id, a type byte, three varints and the refs: live bytes too. Counted
  // at its smallest (36 bytes; the refs, which the index does not hold, not at all), so a pack
  // whose every blob is live stays below its size (the footer's head and the trailer are not
  // counted).
  const cost = (row: { length: number }): number => row.length + 36;
  const count = (pack: string, length: number, live: boolean): void => {
    const t = tally.get(pack) ?? { rows: 0, live: 0, pending: 0 };
    t.rows++;
    if (live) t.live += length;
    else t.pending++;
    tally.set(pack, t);
  };
  let condemn: Buffer[] = [];
  let revive: Buffer[] = [];
  let expired: { id: Buffer; pack: string; length: number }[] = [];
  const flush = async (all: boolean): Promise<void> => {
    if (all || revive.length >= WRITE_BATCH) {
      result.blobsRevived += await index.reviveBlobs(keyringId, revive);
      revive = [];
    }
    if (all || condemn.length >= WRITE_BATCH) {
      result.blobsCondemned += await index.condemnBlobs(keyringId, condemn, now);
      condemn = [];
    }
    if (all || expired.length >= WRITE_BATCH) {
      const swept = await index.deleteCondemnedBlobs(
        keyringId,
        expired.map((e) => e.id),
        cutoff,
      );
      const gone = new Set(swept.map((s) => s.id));
      result.blobsSwept += swept.length;
      for (const s of swept) result.bytesSwept += s.length;
      // A blob revived meanwhile stays, and still counts in its pack.
      for (const e of expired) if (!gone.has(e.id.toString('hex'))) count(e.pack, e.length, false);
      expired = [];
    }
  };
  for await (const rows of index.blobs(keyringId, WRITE_BATCH)) {
    result.blobsBefore += rows.length;
    for (const row of rows) {
      if (marked.has(row.id)) {
        result.blobsLive++;
        if (row.condemnedAt !== null) revive.push(row.id);
        count(row.pack, cost(row), true);
      } else if (row.condemnedAt !== null && row.condemnedAt <= cutoff) {
        expired.push({ id: row.id, pack: row.pack, length: row.length });
      } else {
        if (row.condemnedAt === null) condemn.push(row.id);
        count(row.pack, row.length, false);
      }
    }
    await flush(false);
    if (++batches % 4 === 0) await progress();
  }
  await flush(true);

  // Packs: delete the empty ones past their grace, condemn newly empty ones, pick repacks.
  const lowLive: GcPack[] = [];
  const small: GcPack[] = [];
  const empty: GcPack[] = [];
  const expiredPacks: GcPack[] = [];
  for (const pack of await index.packs(keyringId)) {
    const t = tally.get(pack.name);
    if (!t || t.rows === 0) {
      if (pack.condemnedAt === null) empty.push(pack);
      else if (pack.condemnedAt <= cutoff) expiredPacks.push(pack);
      continue;
    }
    if (pack.condemnedAt !== null) await index.revivePack(keyringId, pack.name);
    // A pack with blobs still in their grace waits until they are deleted: copying them now
    // would only move garbage.
    if (pack.state !== 'ok' || t.pending > 0) continue;
    if (t.live < pack.size * options.repackBelow) lowLive.push(pack);
    // Small in bytes and in blobs: a pack cut at MAX_PACK_BLOBS tiny blobs is as full as it
    // gets, and merging it again every run would only copy it around.
    else if (pack.size < options.smallPackBytes && t.rows < MAX_PACK_BLOBS / 2) small.push(pack);
  }
  // Each pack's footer is read to check it: a few hundred at a time between heartbeats.
  for (let i = 0; i < empty.length; i += PACK_BATCH) {
    await index.condemnPacks(keyringId, empty.slice(i, i + PACK_BATCH), now);
    await progress();
  }
  for (let i = 0; i < expiredPacks.length; i += PACK_BATCH) {
    // The rows first: an upload of the same pack from then on stores its file again.
    const packs = expiredPacks.slice(i, i + PACK_BATCH);
    for (const name of await index.deletePacks(keyringId, packs)) {
      await vault.store.delete(packKey(keyringId, name));
      result.packsDeleted++;
    }
    await progress();
  }
  const chosen = lowLive.length > 0 || small.length > 1 ? [...lowLive, ...small] : [];
  if (chosen.length > 0) {
    const r = await repack(vault, index, keyringId, chosen, options.targetPackBytes, progress);
    result.packsRepacked = r.packsRepacked;
    result.packsWritten = r.packsWritten;
  }

  const packsAfter = await index.packs(keyringId);
  result.packsAfter = packsAfter.length;
  result.bytesAfter = sum(packsAfter);
  result.blobsAfter = result.blobsBefore - result.blobsSwept;
  return result;
}

/** Collects the garbage of every keyring of vault `vaultId`; the results summed. */
export async function collectVault(
  vault: Pick<VaultContext, 'db' | 'dialect' | 'store' | 'now'>,
  vaultId: string,
  options: GcOptions,
  progress: () => Promise<void> = () => Promise.resolve(),
): Promise<GcResult> {
  const index = new GcIndex(vault);
  const total = emptyResult();
  for (const keyringId of await index.keyrings(vaultId)) {
    addResult(total, await collectKeyring(vault, keyringId, options, progress));
  }
  return total;
}
