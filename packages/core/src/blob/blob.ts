/**
 * @module blob/blob
 * The blob codec (docs/format.md §4): keyed ids, optional zstd, AES-256-GCM with the header and
 * id as associated data. Opening checks everything and names the blob in every error.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomFillSync,
  timingSafeEqual,
} from 'node:crypto';
import { createRequire } from 'node:module';
import { IntegrityError } from '../errors.js';
import { idHex, ID_LENGTH, type BlobType } from '../ids.js';

const require = createRequire(import.meta.url);
// The low-level binding exposes the frame header's content size and decompression into a
// caller-sized buffer, so a hostile frame cannot make us allocate more than we allow.
const binding = require('zstd-napi/binding.js') as {
  getFrameContentSize(frame: Uint8Array): number | null;
  compressBound(length: number): number;
  CCtx: new () => { compress(dst: Uint8Array, src: Uint8Array, level: number): number };
  DCtx: new () => { decompress(dst: Uint8Array, src: Uint8Array): number };
};
// One context for every blob this thread opens: the binding's one-shot decompress creates and
// frees a context per call, about 2 µs, a sixth of decompressing a 4 KiB blob. Each call starts
// a fresh frame, so a failed call leaves nothing behind for the next.
let dctx: InstanceType<typeof binding.DCtx> | undefined;
/**
 * Where transient plaintexts are decompressed, made on first use: a new buffer per blob made
 * garbage of every byte a verify reads. Larger plaintexts get their own buffer.
 */
const MAX_SCRATCH = 1024 * 1024;
let scratch: Buffer | undefined;
/**
 * One compression context, and a buffer its frames are written to: a frame only lives until
 * it is encrypted, and a new buffer (then a trimmed copy) per blob cost more than compressing
 * a small file.
 */
let cctx: InstanceType<typeof binding.CCtx> | undefined;
let frameScratch: Buffer | undefined;
/**
 * Nonces are cut from a block of random bytes: asking the CSPRNG once per blob cost a tenth of
 * sealing a 4 KiB one. Each nonce is used once, as before; a block is never refilled in place.
 */
const NONCE_BLOCK = 12 * 1024;
let nonces = Buffer.alloc(0);
let nonceAt = 0;

export const BLOB_HEADER_LENGTH = 16;
export const BLOB_OVERHEAD = 32;
export const BLOB_VERSION = 1;
export const Compression = { none: 0, zstd: 1 } as const;
/** The associated data of the blob being opened: its header, then its id. */
const openAad = Buffer.alloc(BLOB_HEADER_LENGTH + ID_LENGTH);
/** The same for the blob being sealed. */
const sealAad = Buffer.alloc(BLOB_HEADER_LENGTH + ID_LENGTH);
/** Largest plaintext a blob may declare unless the caller says otherwise (§9). */
export const MAX_BLOB_PLAINTEXT = 128 * 1024 * 1024;

/** Plaintexts at least this long are probed before being compressed whole. */
const PROBE_THRESHOLD = 256 * 1024;
const PROBE_LENGTH = 64 * 1024;

export interface SealOptions {
  /** Try zstd (default true); it is kept only when it saves at least 1/32. */
  compress?: boolean;
  /** zstd level, default 3. */
  level?: number;
  /** Fixed nonce, for test vectors only. */
  nonce?: Buffer;
  /**
   * Where the sealed blob goes, given its length: a view of a larger buffer lets a caller
   * gather many small blobs without a buffer (and a copy) each. Default: memory of its own.
   */
  alloc?: (length: number) => Buffer;
}

/** The id of a plaintext: HMAC-SHA256 under the keyring's id key. */
export function blobId(idKey: Buffer, plaintext: Uint8Array): Buffer {
  return createHmac('sha256', idKey).update(plaintext).digest();
}

/**
 * The zstd frame of `plaintext` (content size in its header, no checksum), valid until this
 * thread's next call.
 */
function compressTransient(plaintext: Uint8Array, level: number): Buffer {
  const bound = binding.compressBound(plaintext.length);
  const dst =
    bound <= MAX_SCRATCH
      ? (frameScratch ??= Buffer.allocUnsafeSlow(MAX_SCRATCH))
      : Buffer.allocUnsafe(bound);
  return dst.subarray(0, (cctx ??= new binding.CCtx()).compress(dst, plaintext, level));
}

function nextNonce(): Buffer {
  if (nonceAt === nonces.length) {
    nonces = randomFillSync(Buffer.allocUnsafeSlow(NONCE_BLOCK));
    nonceAt = 0;
  }
  nonceAt += 12;
  return nonces.subarray(nonceAt - 12, nonceAt);
}

function pays(original: number, compressed: number): boolean {
  return compressed <= original - Math.floor(original / 32);
}

/** zstd frame of `plaintext` (transient, see compressTransient), or undefined when it does not pay. */
function tryCompress(plaintext: Uint8Array, level: number): Buffer | undefined {
  if (plaintext.length < 64) return undefined;
  // A cheap probe keeps incompressible data (media, archives, encrypted files) fast.
  if (plaintext.length >= PROBE_THRESHOLD) {
    const mid = Math.floor(plaintext.length / 2);
    const sample = plaintext.subarray(mid, mid + PROBE_LENGTH);
    if (!pays(sample.length, compressTransient(sample, 1).length)) return undefined;
  }
  const frame = compressTransient(plaintext, level);
  return pays(plaintext.length, frame.length) ? frame : undefined;
}

/** Seals `plaintext` (whose id is `id`) as a blob of `type`. */
export function sealBlob(
  keys: { encryptionKey: Buffer },
  type: BlobType,
  id: Buffer,
  plaintext: Uint8Array,
  options: SealOptions = {},
): Buffer {
  if (id.length !== ID_LENGTH) throw new RangeError('an id is 32 bytes');
  const frame = options.compress === false ? undefined : tryCompress(plaintext, options.level ?? 3);
  const body = frame ?? plaintext;
  const nonce = options.nonce ?? nextNonce();
  // Memory of its own, not a slice of Node's shared 8 KiB pool: a pack waiting to upload holds
  // only its blobs' bytes.
  const out = (options.alloc ?? Buffer.allocUnsafeSlow)(BLOB_OVERHEAD + body.length);
  out[0] = BLOB_VERSION;
  out[1] = type;
  out[2] = frame ? Compression.zstd : Compression.none;
  out[3] = 0;
  nonce.copy(out, 4);
  const cipher = createCipheriv('aes-256-gcm', keys.encryptionKey, nonce);
  // setAAD takes in the bytes before it returns, so one buffer serves every blob.
  out.copy(sealAad, 0, 0, BLOB_HEADER_LENGTH);
  sealAad.set(id, BLOB_HEADER_LENGTH);
  cipher.setAAD(sealAad);
  let offset = BLOB_HEADER_LENGTH;
  offset += cipher.update(body).copy(out, offset);
  offset += cipher.final().copy(out, offset);
  cipher.getAuthTag().copy(out, offset);
  return out;
}

/** The header fields of a sealed blob (no checks beyond its length). */
export function readBlobHeader(sealed: Uint8Array): {
  version: number;
  type: number;
  compression: number;
  keySlot: number;
} {
  if (sealed.length < BLOB_OVERHEAD)
    throw new IntegrityError(`blob: ${sealed.length} bytes is too short`);
  return { version: sealed[0]!, type: sealed[1]!, compression: sealed[2]!, keySlot: sealed[3]! };
}

/**
 * Opens a blob expected to have `id` and `type`, checking in the order of §4. Every failure is
 * an IntegrityError naming the id.
 */
export function openBlob(
  keys: { encryptionKey: Buffer; idKey: Buffer },
  type: BlobType,
  id: Buffer,
  sealed: Uint8Array,
  options: {
    maxPlaintext?: number;
    /**
     * The plaintext may be a view of memory that the thread's next openBlob overwrites: for a
     * caller done with it before then (a verify counts its bytes, a restore writes them out).
     */
    transient?: boolean;
  } = {},
): Buffer {
  // The id's hex is made only for an error: a verify opens blobs by the hundred thousand.
  const bad = (message: string, cause?: unknown): never => {
    const hex = idHex(id);
    throw new IntegrityError(`blob ${hex}: ${message}`, { subject: hex, cause });
  };
  if (id.length !== ID_LENGTH) bad('an id is 32 bytes');
  if (sealed.length < BLOB_OVERHEAD) bad(`${sealed.length} bytes is too short`);
  const version = sealed[0]!;
  if (version !== BLOB_VERSION) bad(`version ${version} is not supported`);
  if (sealed[1] !== type) bad(`type ${sealed[1]} where ${type} was expected`);
  const compression = sealed[2]!;
  if (compression !== Compression.none && compression !== Compression.zstd)
    bad(`unknown compression ${compression}`);
  if (sealed[3] !== 0) bad(`key slot ${sealed[3]} is not supported`);
  const h = sealed.subarray(0, BLOB_HEADER_LENGTH);
  const nonce = sealed.subarray(4, BLOB_HEADER_LENGTH);
  const tag = sealed.subarray(sealed.length - 16);
  let body: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.encryptionKey, nonce);
    // setAAD takes in the bytes before it returns, so one buffer serves every blob.
    openAad.set(h, 0);
    openAad.set(id, BLOB_HEADER_LENGTH);
    decipher.setAAD(openAad);
    decipher.setAuthTag(tag);
    body = decipher.update(sealed.subarray(BLOB_HEADER_LENGTH, sealed.length - 16));
    // GCM gives everything from update; final only checks the tag.
    const rest = decipher.final();
    if (rest.length > 0) body = Buffer.concat([body, rest]);
  } catch (cause) {
    return bad('authentication failed (damaged, wrong key, or not this id)', cause);
  }
  let plaintext = body;
  if (compression === Compression.zstd) {
    const limit = options.maxPlaintext ?? MAX_BLOB_PLAINTEXT;
    let declared: number | null;
    try {
      declared = binding.getFrameContentSize(body);
    } catch (cause) {
      return bad('invalid zstd frame header', cause);
    }
    if (declared === null || declared > limit)
      bad(`zstd frame declares ${declared ?? 'no'} content size (limit ${limit})`);
    if (options.transient && declared! <= MAX_SCRATCH) {
      scratch ??= Buffer.allocUnsafe(MAX_SCRATCH);
      plaintext = scratch.subarray(0, declared!);
    } else plaintext = Buffer.allocUnsafe(declared!);
    let written: number;
    try {
      written = (dctx ??= new binding.DCtx()).decompress(plaintext, body);
    } catch (cause) {
      return bad('zstd decompression failed', cause);
    }
    if (written !== declared) bad(`decompressed ${written} bytes, the frame declared ${declared}`);
  }
  if (!timingSafeEqual(blobId(keys.idKey, plaintext), id)) bad('content does not match its id');
  return plaintext;
}
