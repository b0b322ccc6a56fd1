/**
 * @module @coffer/core
 * Coffer's format (docs/format.md): keyrings, the chunker, the blob codec, packs, trees and
 * recovery point manifests; and policies: schedules and retention (docs/retention.md).
 * Pure functions; no I/O.
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
  JOIN_KEY_INFO,
  deriveJoinKey,
  joinKeySeed,
  joinMessage,
  signJoin,
  verifyJoin,
  type JoinKey,
} from './keys/join-key.js';
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
  checkBlobHeader,
  encodePackFooter,
  parsePack,
  parsePackFooter,
  readPackTrailer,
  scanPackFooter,
  sliceBlob,
  verifyPackStream,
  type FinishedPack,
  type FooterEntryView,
  type PackEntry,
  type VerifiedPack,
} from './pack/pack.js';
export {
  MAX_SCHEDULE_TIMES,
  MONTHS,
  RETENTION_DEFAULTS,
  RETENTION_LIMITS,
  WEEKDAYS,
  WEEKS_OF_MONTH,
  isMonth,
  isWeekday,
  secondOfDay,
  validateDayOfMonth,
  validatePolicy,
  validateRetention,
  validateSchedule,
  type DayOfMonth,
  type Month,
  type PolicySpec,
  type Retention,
  type Schedule,
  type WeekOfMonth,
  type Weekday,
} from './policy/policy.js';
export { PolicyError } from './policy/policy-error.js';
export {
  formatDayOfMonth,
  parseCount,
  parseDayOfMonth,
  parseMonth,
  parseTimeZone,
  parseTimes,
  parseWeekday,
  parseWeekdays,
} from './policy/parse.js';
export { isTimeZone } from './policy/zone.js';
export { nextSlot, slotsBetween } from './policy/schedule.js';
export {
  KEEP_REASONS,
  selectRetention,
  type KeepReason,
  type RetentionCandidate,
  type RetentionDecision,
} from './retention/select.js';
export { MAX_PREVIEW_DAYS, previewRetention, type RetentionPreview } from './retention/preview.js';
export { openSources, sealSources, type ItemSources } from './item/sources.js';
