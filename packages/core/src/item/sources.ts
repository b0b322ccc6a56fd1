/**
 * @module item/sources
 * A protected item's paths and exclude patterns, sealed with its keyring so that the vault can
 * store them for the agent's daemon without reading them (docs/format.md §12).
 */
import { blobId, openBlob, sealBlob } from '../blob/blob.js';
import { FormatError } from '../errors.js';
import { BlobType, ID_LENGTH } from '../ids.js';

/** What an item backs up. */
export interface ItemSources {
  /** Absolute paths on the agent's machine. */
  paths: string[];
  /** Exclude patterns, as `coffer backup --exclude` takes them. */
  excludes: string[];
}

/** The first line of the plaintext: a reader knows what it opened. */
const MAGIC = 'coffer-item-sources-v1\n';

function plaintextOf(item: string, sources: ItemSources): Buffer {
  const body = { item, paths: sources.paths, excludes: sources.excludes };
  return Buffer.from(MAGIC + JSON.stringify(body), 'utf8');
}

/**
 * Seals `sources` of item `item`: base64 of the id (32 bytes) and the sealed data blob.
 * @example sealSources(keys, 'documents', { paths: ['/home/ann/Documents'], excludes: ['*.tmp'] })
 */
export function sealSources(
  keys: { encryptionKey: Buffer; idKey: Buffer },
  item: string,
  sources: ItemSources,
  options: { nonce?: Buffer } = {},
): string {
  const plaintext = plaintextOf(item, sources);
  const id = blobId(keys.idKey, plaintext);
  const sealed = sealBlob(keys, BlobType.data, id, plaintext, {
    compress: false,
    ...(options.nonce ? { nonce: options.nonce } : {}),
  });
  return Buffer.concat([id, sealed]).toString('base64');
}

/**
 * Opens sealed sources and checks that they belong to item `item` (so that a vault cannot hand
 * one item's paths to another). Throws IntegrityError or FormatError.
 */
export function openSources(
  keys: { encryptionKey: Buffer; idKey: Buffer },
  item: string,
  value: string,
): ItemSources {
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length <= ID_LENGTH) throw new FormatError('item sources', 'too short');
  const plaintext = openBlob(
    keys,
    BlobType.data,
    bytes.subarray(0, ID_LENGTH),
    bytes.subarray(ID_LENGTH),
  );
  const text = plaintext.toString('utf8');
  if (!text.startsWith(MAGIC))
    throw new FormatError('item sources', 'not item sources (magic line)');
  let body: unknown;
  try {
    body = JSON.parse(text.slice(MAGIC.length));
  } catch {
    throw new FormatError('item sources', 'not JSON');
  }
  const b = body as { item?: unknown; paths?: unknown; excludes?: unknown };
  const strings = (x: unknown): x is string[] =>
    Array.isArray(x) && x.every((s) => typeof s === 'string');
  if (!strings(b.paths) || !strings(b.excludes)) {
    throw new FormatError('item sources', 'paths and excludes must be lists of strings');
  }
  if (b.item !== item) {
    throw new FormatError(
      'item sources',
      `sealed for item ${JSON.stringify(b.item)}, not ${JSON.stringify(item)}`,
    );
  }
  return { paths: b.paths, excludes: b.excludes };
}
