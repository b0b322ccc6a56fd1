/**
 * @module @coffer/storage
 * The BlobStore interface and its adapters.
 */
export {
  InvalidRangeError,
  StorageFullError,
  isNoSpace,
  validateKey,
  type BlobInfo,
  type BlobStore,
  type PutOptions,
} from './blob-store.js';
export { FsBlobStore } from './fs/fs-blob-store.js';
export { MemoryBlobStore } from './memory/memory-blob-store.js';
