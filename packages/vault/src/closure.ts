/**
 * @module closure
 * Checks, without keys, that everything a recovery point needs is stored: the manifest, and
 * every blob reachable from it through the refs listed in pack footers (docs/format.md §5).
 */
import { ID_LENGTH } from '@coffer/core';
import { closureRows, markClosed, type ClosureRow } from './blob-index/index.js';
import type { VaultContext } from './context.js';
import { FooterRefs } from './pack-footer.js';
import { confirmPacks, markPack } from './pack-health.js';

/** Ids looked up at once: one statement's worth (blob-index ID_BATCH). */
const BATCH = 1000;

export interface ClosureResult {
  /** Ids that are referred to but not stored (at most `limit`). */
  missing: string[];
  /** Trees and the manifest found complete; the caller marks them closed with the point. */
  walked: string[];
  /** The keyring's closure epoch when the walk began: the value to mark `walked` with. */
  epoch: number;
  /**
   * Blobs of the closure that GC condemned (docs/gc.md): stored still, and revived by the
   * commit in its transaction, which fails if GC deleted one meanwhile.
   */
  condemned: string[];
}

/** The keyring's closure epoch: the only value at which closure flags count. */
export async function closureEpoch(db: VaultContext['db'], keyringId: string): Promise<number> {
  const keyring = await db
    .selectFrom('keyrings')
    .select('closure_epoch')
    .where('id', '=', keyringId)
    .executeTakeFirstOrThrow();
  return keyring.closure_epoch;
}

/**
 * Walks from `manifestId` breadth first in batches. A blob counts as stored only if its pack is
 * ok and present in the blob store (checked once per pack per walk). Subtrees proven closed at
 * the keyring's current epoch are not walked again, so an incremental backup costs only its new
 * trees; any loss since bumped the epoch and so makes the walk go over everything again. The
 * refs of the trees walked are read from their packs' footers; a tree whose footer cannot be
 * read counts as missing, and its pack is marked, so the agent stores it again.
 */
export async function checkClosure(
  vault: Pick<VaultContext, 'db' | 'store' | 'now'>,
  keyringId: string,
  manifestId: string,
  limit = 100,
): Promise<ClosureResult> {
  const { db } = vault;
  const epoch = await closureEpoch(db, keyringId);
  const footers = new FooterRefs(vault.store, keyringId);
  const missing: string[] = [];
  const walked: string[] = [];
  const condemned: string[] = [];
  const seen = new Set<string>([manifestId]);
  const packsChecked = new Map<string, boolean>();
  let frontier = [manifestId];
  while (frontier.length > 0 && missing.length < limit) {
    const next: string[] = [];
    for (let i = 0; i < frontier.length; i += BATCH) {
      const batch = frontier.slice(i, i + BATCH);
      const rows: [string, ClosureRow][] = [];
      for (const entry of await closureRows(db, keyringId, batch)) {
        if (entry[1].packState === 'ok') rows.push(entry);
      }
      const unchecked = new Map<string, number>();
      for (const [, row] of rows) {
        if (!packsChecked.has(row.pack)) unchecked.set(row.pack, row.packSize);
      }
      const bad = await confirmPacks(vault, keyringId, unchecked);
      for (const name of unchecked.keys()) packsChecked.set(name, !bad.has(name));
      const found = new Map(rows.filter(([, row]) => packsChecked.get(row.pack)));
      const parents: string[] = [];
      for (const id of batch) {
        const row = found.get(id);
        if (!row) {
          if (missing.length < limit) missing.push(id);
          continue;
        }
        if (row.condemnedAt !== null) condemned.push(id);
        if (row.type !== 1 && row.closed !== epoch) parents.push(id);
      }
      const { refs, unreadable } = await footers.read(
        parents.map((id) => ({ id, ...found.get(id)! })),
      );
      for (const [name, state] of unreadable) {
        packsChecked.set(name, false);
        await markPack(vault, keyringId, name, state);
      }
      for (const id of parents) {
        const ids = refs.get(id);
        if (!ids) {
          if (missing.length < limit) missing.push(id);
          continue;
        }
        walked.push(id);
        for (let o = 0; o < ids.length; o += ID_LENGTH) {
          const hex = ids.toString('hex', o, o + ID_LENGTH);
          if (!seen.has(hex)) {
            seen.add(hex);
            next.push(hex);
          }
        }
      }
    }
    frontier = next;
  }
  return { missing, walked, epoch, condemned };
}

/** A tree or manifest of a pack just indexed, as its footer lists it. */
export interface PackedParent {
  id: Buffer;
  type: number;
  refs: readonly Buffer[];
}

/**
 * Marks the trees and manifests of a pack just indexed closed, each whose refs are all stored:
 * data blobs not condemned in ok, present packs, and trees closed at the keyring's epoch or
 * earlier in this pack (a tree is packed after its subtrees). A backup's commit then walks
 * only what could not be proven here, instead of every blob of the point while the agent
 * waits. A flag counts only at the epoch read here, as in `checkClosure`: any loss or
 * condemnation meanwhile bumps the epoch and voids it.
 */
export async function closePackedTrees(
  vault: Pick<VaultContext, 'db' | 'store' | 'now'>,
  keyringId: string,
  entries: readonly PackedParent[],
): Promise<void> {
  const parents = entries.filter((e) => e.type !== 1);
  if (parents.length === 0) return;
  const { db } = vault;
  const epoch = await closureEpoch(db, keyringId);
  const parentRefs = parents.map((parent) => parent.refs.map((ref) => ref.toString('hex')));
  const rows = await closureRows(db, keyringId, [...new Set(parentRefs.flat())]);
  const packs = new Map<string, number>();
  for (const row of rows.values()) if (row.packState === 'ok') packs.set(row.pack, row.packSize);
  const bad = await confirmPacks(vault, keyringId, packs);
  const closed = new Set<string>();
  const stored = (hex: string): boolean => {
    if (closed.has(hex)) return true;
    const row = rows.get(hex);
    return (
      row !== undefined &&
      row.packState === 'ok' &&
      !bad.has(row.pack) &&
      row.condemnedAt === null &&
      (row.type === 1 || row.closed === epoch)
    );
  };
  parents.forEach((parent, i) => {
    if (parentRefs[i]!.every(stored)) closed.add(parent.id.toString('hex'));
  });
  await markClosed(db, keyringId, [...closed], epoch);
}
