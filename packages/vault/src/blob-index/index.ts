/**
 * @module blob-index
 * The vault's index of what it stores: which packs each keyring has, and where in them each
 * blob is. Every query on the `packs`, `blobs` and `keyring_refs` tables goes through here, so
 * their storage format stays private (migration 0007: binary ids, integer keyring and pack
 * references). At this boundary ids and pack names are lowercase hex strings, as in the API;
 * only `knownIds` yields raw ids, for a byte stream.
 *
 * The index is a cache of the pack footers, which stay the source of truth: uploading a pack
 * again re-indexes its footer (routes/backup.ts). An uploaded pack waits in `pending_packs`
 * until pack-indexer.ts indexes it with others. What trees and manifests refer to is not in
 * the index (migration 0011): it is read from the footers (pack-footer.ts). Functions take a
 * Kysely instance or a transaction; `insertPack`, `indexPending` and `dropPending` open their
 * own transaction and so need the former.
 */
export {
  blobsInPack,
  condemnBlobs,
  condemnPacks,
  deleteCondemnedBlobs,
  reviveBlobs,
  revivePack,
} from './condemn.js';
export { deleteBlobs, deleteKeyrings } from './delete.js';
export {
  indexPending,
  insertPack,
  type BlobEntry,
  type IndexEntry,
  type InsertPackOptions,
  type PendingPackRows,
} from './insert-pack.js';
export { knownIds } from './known-ids.js';
export {
  closureRows,
  locate,
  lookup,
  type BlobLocation,
  type ClosureRow,
  type Placement,
} from './lookup.js';
export { markClosed } from './closed.js';
export { deletePacks, getPack, listPacks, setPackState, type PackInfo } from './packs.js';
export type { PackIds } from './pack-rows.js';
export { scanBlobs } from './scan.js';
export {
  addPending,
  dropPending,
  listPending,
  pendingKeyrings,
  pendingLoad,
  type PendingPack,
} from './pending.js';
