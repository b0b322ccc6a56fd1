/**
 * @module @coffer/core
 * Coffer's format (docs/format.md): keyrings, the chunker, the blob codec, packs, trees and
 * recovery point manifests. Pure functions over bytes; no I/O.
 */
export * from './errors.js';
export * from './ids.js';
export { ByteReader, ByteWriter } from './encoding/varint.js';
export {
  DEFAULT_KDF,
  MIN_PASSPHRASE_CHARS,
  MAX_KEYRING_BYTES,
  checkPassphrase,
  createKeyring,
  createKeyringWith,
  openKeyring,
  parseKeyring,
  rewrapKeyring,
  type KdfParams,
  type KeyringJson,
  type KeyringMaterial,
  type MasterKeys,
} from './keys/keyring.js';
export {
  DEFAULT_CHUNKER_PARAMS,
  validateChunkerParams,
  type ChunkerParams,
} from './chunker/params.js';
export { StreamChunker, chunkStream, cutMask, findCutPoint, gearTable } from './chunker/fastcdc.js';
export {
  BLOB_HEADER_LENGTH,
  BLOB_OVERHEAD,
  Compression,
  MAX_BLOB_PLAINTEXT,
  blobId,
  openBlob,
  readBlobHeader,
  sealBlob,
  type SealOptions,
} from './blob/blob.js';
export {
  EntryType,
  TREE_VERSION,
  decodeTree,
  encodeTree,
  treeRefs,
  type ContentRef,
  type TreeEntry,
  type Xattr,
} from './tree/tree.js';
export {
  MANIFEST_VERSION,
  decodeManifest,
  encodeManifest,
  manifestRefs,
  type Manifest,
  type PointStats,
} from './manifest/manifest.js';
export {
  PACK_MAX_SIZE,
  PACK_TARGET_SIZE,
  PACK_TRAILER_LENGTH,
  PackVerifier,
  PackWriter,
  encodePackFooter,
  parsePack,
  parsePackFooter,
  readPackTrailer,
  sliceBlob,
  verifyPackStream,
  type FinishedPack,
  type PackEntry,
} from './pack/pack.js';
