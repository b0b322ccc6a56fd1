/**
 * @module closure
 * Checks, without keys, that everything a recovery point needs is stored: the manifest, and
 * every blob reachable from it through the refs listed in pack footers (docs/format.md §5).
 */
import { ID_LENGTH } from '@coffer/core';
import { closureRows, type ClosureRow } from './blob-index/index.js';
import type { IdSet } from './gc/id-set.js';
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

/** A tree or manifest of the packs being indexed together, as their footers list it. */
export interface PackedParent {
  /** Lowercase hex of its id. */
  id: string;
  refs: readonly Buffer[];
}

/**
 * Which of `parents`, the trees and manifests of packs about to be indexed together, are
 * closed at `epoch`: each of their refs is a data blob of those packs (`packedData`), another
 * of `parents` that is closed, or a blob the index holds as stored (not condemned, in an ok and
 * present pack, and closed at `epoch` unless it is data). A backup's commit then walks only what
 * could not be proven here. Only refs outside the packs are looked up, so a new backup's
 * batch costs few lookups. A flag counts only at the epoch read before this, as in
 * `checkClosure`: any loss or condemnation meanwhile bumps the epoch and voids it.
 */
export async function closedParents(
  vault: Pick<VaultContext, 'db' | 'store' | 'now'>,
  keyringId: string,
  parents: readonly PackedParent[],
  packedData: IdSet,
  epoch: number,
): Promise<Set<string>> {
  const byId = new Map(parents.map((p) => [p.id, p]));
  const outside = new Set<string>();
  for (const parent of parents) {
    for (const ref of parent.refs) {
      if (packedData.has(ref)) continue;
      const hex = ref.toString('hex');
      if (!byId.has(hex)) outside.add(hex);
    }
  }
  const rows = await closureRows(vault.db, keyringId, [...outside]);
  const packs = new Map<string, number>();
  for (const row of rows.values()) if (row.packState === 'ok') packs.set(row.pack, row.packSize);
  const bad = await confirmPacks(vault, keyringId, packs);
  const storedOutside = (hex: string): boolean => {
    const row = rows.get(hex);
    return (
      row !== undefined &&
      row.packState === 'ok' &&
      !bad.has(row.pack) &&
      row.condemnedAt === null &&
      (row.type === 1 || row.closed === epoch)
    );
  };
  // Parent → closed; false while being decided, which a cycle (not possible for ids that
  // are hashes of their content, but the bytes come from an agent) leaves false.
  const decided = new Map<string, boolean>();
  const closed = (parent: PackedParent): boolean => {
    const known = decided.get(parent.id);
    if (known !== undefined) return known;
    decided.set(parent.id, false);
    const result = parent.refs.every((ref) => {
      if (packedData.has(ref)) return true;
      const hex = ref.toString('hex');
      const inner = byId.get(hex);
      return inner ? closed(inner) : storedOutside(hex);
    });
    decided.set(parent.id, result);
    return result;
  };
  return new Set(parents.filter(closed).map((p) => p.id));
}
