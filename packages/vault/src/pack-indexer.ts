/**
 * @module pack-indexer
 * Moves pending packs (stored and verified by an upload, blob-index/pending) into the blob
 * index, many in one transaction. Indexing each upload in its own transaction rewrote most of
 * the index's pages per pack, because blob ids are random: a backup's cost grew with the
 * square of its file count (docs/performance.md, "Pending packs").
 *
 * Packs are indexed when someone needs them: a commit (its closure walk reads the index), an
 * existence query, and a re-upload of a pack the index knows. In a serving vault the index
 * task also takes a keyring's packs once they hold as many blobs as half its index (so the
 * work over a long backup stays linear), and packs left pending by a backup that never
 * committed, so garbage collection can reclaim them.
 */
import {
  dropPending,
  indexPending,
  listPending,
  pendingKeyrings,
  pendingLoad,
  type IndexEntry,
  type PendingPack,
  type PendingPackRows,
} from './blob-index/index.js';
import { closedParents, closureEpoch, type PackedParent } from './closure.js';
import type { VaultContext } from './context.js';
import { IdSet } from './gc/id-set.js';
import { FOOTERS_AT_ONCE, footerFailure, readFooter } from './pack-footer.js';
import { packKey } from './pack-keys.js';

/** The lifecycle task that indexes packs in the background. */
export const INDEX_TASK = 'index-pending-packs';
/** How often the index task looks for packs left pending. */
export const INDEX_TASK_INTERVAL_MS = 60_000;
/** A pack pending this long is indexed by the task even though no backup committed it. */
export const PENDING_MAX_AGE_MS = 10 * 60_000;
/** Pending blobs below which the task leaves a keyring's packs for its commit. */
const MIN_BATCH_BLOBS = 1 << 16;
/**
 * Blobs one transaction takes at most: it bounds the footers held (about 50 bytes a blob) and
 * how long the transaction holds the database.
 */
const MAX_BATCH_BLOBS = 1 << 20;

type Indexer = Pick<VaultContext, 'db' | 'store' | 'now'>;

/** Per database, per keyring: the indexing in progress, so runs of one process queue. */
const running = new WeakMap<object, Map<string, Promise<void>>>();

/**
 * Indexes every pack pending for the keyring when this is called, after any indexing of it
 * already under way in this process. Packs whose footer cannot be read are forgotten (their
 * blobs count as missing, and the closure epoch moves so agents upload them again).
 */
export function indexPendingPacks(vault: Indexer, keyringId: string): Promise<void> {
  let byKeyring = running.get(vault.db);
  if (!byKeyring) running.set(vault.db, (byKeyring = new Map()));
  const queue = byKeyring;
  const next = (queue.get(keyringId) ?? Promise.resolve())
    .catch(() => undefined)
    .then(() => indexAll(vault, keyringId));
  queue.set(keyringId, next);
  const forget = (): void => {
    if (queue.get(keyringId) === next) queue.delete(keyringId);
  };
  next.then(forget, forget);
  return next;
}

/** Whether the keyring's pending packs are enough to index now rather than at its commit. */
export async function batchIsDue(vault: Indexer, keyringId: string): Promise<boolean> {
  const { pending, indexed } = await pendingLoad(vault.db, keyringId);
  return pending >= Math.max(MIN_BATCH_BLOBS, indexed / 2);
}

/**
 * The index task: indexes the keyrings whose pending packs are due, or older than
 * {@link PENDING_MAX_AGE_MS}, or older than this process (left by a backup that died with the
 * vault).
 */
export async function runIndexTask(vault: Indexer, startedAt: number): Promise<void> {
  const before = Math.max(startedAt, vault.now() - PENDING_MAX_AGE_MS);
  for (const { keyringId, oldest } of await pendingKeyrings(vault.db)) {
    if (oldest < before || (await batchIsDue(vault, keyringId))) {
      await indexPendingPacks(vault, keyringId);
    }
  }
}

async function indexAll(vault: Indexer, keyringId: string): Promise<void> {
  const pending = await listPending(vault.db, keyringId);
  for (let at = 0; at < pending.length;) {
    const batch: PendingPack[] = [];
    let blobs = 0;
    while (at < pending.length && (batch.length === 0 || blobs < MAX_BATCH_BLOBS)) {
      const pack = pending[at++]!;
      batch.push(pack);
      blobs += pack.blobs;
    }
    await indexBatch(vault, keyringId, batch);
  }
}

/** A pending pack's footer, read for indexing. */
interface ReadPack extends PendingPackRows {
  entries: IndexEntry[];
  parents: PackedParent[];
}

async function indexBatch(
  vault: Indexer,
  keyringId: string,
  batch: readonly PendingPack[],
): Promise<void> {
  const epoch = await closureEpoch(vault.db, keyringId);
  // In upload order, so that which of two packs listing one blob gets its row is repeatable.
  const slots: (ReadPack | undefined)[] = new Array(batch.length);
  const lost: string[] = [];
  for (let i = 0; i < batch.length; i += FOOTERS_AT_ONCE) {
    await Promise.all(
      batch.slice(i, i + FOOTERS_AT_ONCE).map(async (pack, j) => {
        try {
          slots[i + j] = await readPack(vault, keyringId, pack);
        } catch (error) {
          if (!footerFailure(error)) throw error;
          lost.push(pack.name);
        }
      }),
    );
  }
  const read = slots.filter((p) => p !== undefined);
  const data = new IdSet(batch.reduce((n, p) => n + p.blobs, 0));
  for (const pack of read) for (const e of pack.entries) if (e.type === 1) data.add(e.id);
  const closed = await closedParents(
    vault,
    keyringId,
    read.flatMap((p) => p.parents),
    data,
    epoch,
  );
  for (const pack of read) {
    for (const e of pack.entries) {
      if (e.type !== 1 && closed.has(e.id.toString('hex'))) e.closed = epoch;
    }
  }
  await indexPending(vault.db, keyringId, read, vault.now());
  // Such a pack was verified when it was uploaded and has gone or changed since; nothing
  // refers to it but the agent's belief, which the epoch moved by dropPending undoes.
  await dropPending(vault.db, keyringId, lost);
}

/** The rows and the trees of pending pack `pack`, from its footer in the blob store. */
async function readPack(vault: Indexer, keyringId: string, pack: PendingPack): Promise<ReadPack> {
  const entries = await readFooter(vault.store, packKey(keyringId, pack.name), pack.size);
  const parents = entries
    .filter((e) => e.type !== 1)
    .map((e) => ({ id: e.id.toString('hex'), refs: e.refs }));
  return { name: pack.name, size: pack.size, entries, parents };
}
