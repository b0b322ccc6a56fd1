/**
 * @module keys/keyring
 * Keyrings (docs/format.md §3): random master keys wrapped by a key derived from a passphrase
 * with scrypt. The vault and the agent store only the wrapped form.
 */
import {
  createCipheriv,
  createDecipheriv,
  randomBytes,
  scrypt as scryptCallback,
  type ScryptOptions,
} from 'node:crypto';
import {
  FormatError,
  UnsupportedError,
  WeakPassphraseError,
  WrongPassphraseError,
} from '../errors.js';
import {
  DEFAULT_CHUNKER_PARAMS,
  validateChunkerParams,
  type ChunkerParams,
} from '../chunker/params.js';

export type { ChunkerParams };

export interface KdfParams {
  name: 'scrypt';
  N: number;
  r: number;
  p: number;
  /** Base64 of 32 random bytes. */
  salt: string;
}

export interface KeyringJson {
  format: 'coffer-keyring';
  version: 1;
  id: string;
  kdf: KdfParams;
  wrap: { name: 'AES-256-GCM'; nonce: string; sealed: string };
  algorithms: {
    id: 'HMAC-SHA256';
    cipher: 'AES-256-GCM';
    compression: 'zstd';
    chunker: ChunkerParams;
  };
  createdAt: string;
}

/** The opened keys of a keyring. */
export interface MasterKeys {
  readonly keyringId: string;
  readonly encryptionKey: Buffer;
  readonly idKey: Buffer;
  readonly chunker: ChunkerParams;
}

/**
 * scrypt's cost for new keyrings: 32 MiB, three passes. OWASP's password storage guidance rates
 * it as strong as N=2^16, p=2 (the default until 2026-11-27) and N=2^17, p=1 (until 2026-11-26).
 * Every agent command derives once, while it loads its caches and starts its job, so the
 * derivation's memory adds to the command's: a bare derive peaks at 75 MiB, against 108 and
 * 173 MiB at the earlier defaults, in about the same time.
 */
export const DEFAULT_KDF = { N: 2 ** 15, r: 8, p: 3 } as const;
export const MIN_PASSPHRASE_CHARS = 16;
/** Largest keyring JSON accepted (docs/format.md §9). */
export const MAX_KEYRING_BYTES = 64 * 1024;

const MASTER_KEYS_LENGTH = 64;
const AAD_PREFIX = 'coffer-keyring-v1:';

function normalize(passphrase: string): Buffer {
  return Buffer.from(passphrase.normalize('NFC'), 'utf8');
}

/** Refuses passphrases under 16 characters (code points after NFC), saying why. */
export function checkPassphrase(passphrase: string): void {
  const length = [...passphrase.normalize('NFC')].length;
  if (length < MIN_PASSPHRASE_CHARS) {
    throw new WeakPassphraseError(
      `passphrase too short: ${length} characters; at least ${MIN_PASSPHRASE_CHARS} characters are needed ` +
        'because anyone who obtains the vault data can try guesses offline',
    );
  }
}

function checkKdf(kdf: { N: number; r: number; p: number }): void {
  const { N, r, p } = kdf;
  const ints = [N, r, p].every((v) => Number.isSafeInteger(v) && v >= 1);
  if (
    !ints ||
    N < 2 ||
    (N & (N - 1)) !== 0 ||
    N > 2 ** 20 ||
    r > 32 ||
    p > 16 ||
    128 * N * r > 2 ** 30
  ) {
    throw new UnsupportedError(`keyring: scrypt parameters N=${N} r=${r} p=${p} are out of bounds`);
  }
}

function deriveWrapKey(
  passphrase: string,
  salt: Buffer,
  kdf: { N: number; r: number; p: number },
): Promise<Buffer> {
  const options: ScryptOptions = {
    N: kdf.N,
    r: kdf.r,
    p: kdf.p,
    maxmem: 128 * kdf.N * kdf.r * 2 + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scryptCallback(normalize(passphrase), salt, 32, options, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

function aad(id: string): Buffer {
  return Buffer.from(AAD_PREFIX + id, 'ascii');
}

/** Inputs that are random in use; fixed only by test vectors. */
export interface KeyringMaterial {
  masterKeys: Buffer;
  salt: Buffer;
  nonce: Buffer;
  id: string;
  kdf: { N: number; r: number; p: number };
  chunker: ChunkerParams;
  now: Date;
}

function keysOf(json: KeyringJson, masterKeys: Buffer): MasterKeys {
  return {
    keyringId: json.id,
    encryptionKey: Buffer.from(masterKeys.subarray(0, 32)),
    idKey: Buffer.from(masterKeys.subarray(32, 64)),
    chunker: { ...json.algorithms.chunker },
  };
}

/** Builds a keyring from fixed material (test vectors); use {@link createKeyring} otherwise. */
export async function createKeyringWith(
  passphrase: string,
  m: KeyringMaterial,
): Promise<{ json: KeyringJson; keys: MasterKeys }> {
  checkPassphrase(passphrase);
  checkKdf(m.kdf);
  validateChunkerParams(m.chunker);
  const wrapKey = await deriveWrapKey(passphrase, m.salt, m.kdf);
  const cipher = createCipheriv('aes-256-gcm', wrapKey, m.nonce);
  cipher.setAAD(aad(m.id));
  const sealed = Buffer.concat([cipher.update(m.masterKeys), cipher.final(), cipher.getAuthTag()]);
  const json: KeyringJson = {
    format: 'coffer-keyring',
    version: 1,
    id: m.id,
    kdf: { name: 'scrypt', N: m.kdf.N, r: m.kdf.r, p: m.kdf.p, salt: m.salt.toString('base64') },
    wrap: {
      name: 'AES-256-GCM',
      nonce: m.nonce.toString('base64'),
      sealed: sealed.toString('base64'),
    },
    algorithms: {
      id: 'HMAC-SHA256',
      cipher: 'AES-256-GCM',
      compression: 'zstd',
      chunker: { ...m.chunker },
    },
    createdAt: m.now.toISOString(),
  };
  return { json, keys: keysOf(json, m.masterKeys) };
}

/**
 * Creates a keyring with fresh random keys, wrapped by `passphrase`.
 * @example const { json, keys } = await createKeyring('correct horse battery staple');
 */
export function createKeyring(
  passphrase: string,
  options: { kdf?: { N: number; r: number; p: number }; now?: Date; chunker?: ChunkerParams } = {},
): Promise<{ json: KeyringJson; keys: MasterKeys }> {
  return createKeyringWith(passphrase, {
    masterKeys: randomBytes(MASTER_KEYS_LENGTH),
    salt: randomBytes(32),
    nonce: randomBytes(12),
    id: randomBytes(16).toString('hex'),
    kdf: options.kdf ?? DEFAULT_KDF,
    chunker: options.chunker ?? DEFAULT_CHUNKER_PARAMS,
    now: options.now ?? new Date(),
  });
}

function fail(message: string): never {
  throw new FormatError('keyring', message);
}

function base64(value: unknown, bytes: number, what: string): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value))
    fail(`${what} is not base64`);
  const decoded = Buffer.from(value, 'base64');
  if (decoded.length !== bytes || decoded.toString('base64') !== value) {
    fail(`${what} must be ${bytes} bytes in canonical base64`);
  }
  return decoded;
}

function object(value: unknown, what: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(`${what} must be an object`);
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record))
    if (!keys.includes(key)) fail(`${what} has an unknown field ${key}`);
  for (const key of keys) if (!(key in record)) fail(`${what} lacks ${key}`);
  return record;
}

function integer(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail(`${what} must be an integer`);
  return value;
}

/** Parses and validates keyring JSON (format, bounds, algorithm names) without the passphrase. */
export function parseKeyring(text: string | Uint8Array): KeyringJson {
  const raw = typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text);
  if (raw.length > MAX_KEYRING_BYTES) fail(`larger than ${MAX_KEYRING_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch {
    fail('not valid UTF-8 JSON');
  }
  const top = object(parsed, 'keyring', [
    'format',
    'version',
    'id',
    'kdf',
    'wrap',
    'algorithms',
    'createdAt',
  ]);
  if (top.format !== 'coffer-keyring') fail('format must be "coffer-keyring"');
  if (top.version !== 1)
    throw new UnsupportedError(
      `keyring version ${String(top.version)} is not supported (this program reads version 1)`,
    );
  if (typeof top.id !== 'string' || !/^[0-9a-f]{32}$/.test(top.id))
    fail('id must be 32 lowercase hex digits');
  const kdf = object(top.kdf, 'kdf', ['name', 'N', 'r', 'p', 'salt']);
  if (kdf.name !== 'scrypt')
    throw new UnsupportedError(`keyring: key derivation ${String(kdf.name)} is not supported`);
  const params = {
    N: integer(kdf.N, 'kdf.N'),
    r: integer(kdf.r, 'kdf.r'),
    p: integer(kdf.p, 'kdf.p'),
  };
  checkKdf(params);
  base64(kdf.salt, 32, 'kdf.salt');
  const wrap = object(top.wrap, 'wrap', ['name', 'nonce', 'sealed']);
  if (wrap.name !== 'AES-256-GCM')
    throw new UnsupportedError(`keyring: wrap ${String(wrap.name)} is not supported`);
  base64(wrap.nonce, 12, 'wrap.nonce');
  base64(wrap.sealed, MASTER_KEYS_LENGTH + 16, 'wrap.sealed');
  const algorithms = object(top.algorithms, 'algorithms', [
    'id',
    'cipher',
    'compression',
    'chunker',
  ]);
  if (algorithms.id !== 'HMAC-SHA256')
    throw new UnsupportedError(`keyring: id algorithm ${String(algorithms.id)} is not supported`);
  if (algorithms.cipher !== 'AES-256-GCM')
    throw new UnsupportedError(`keyring: cipher ${String(algorithms.cipher)} is not supported`);
  if (algorithms.compression !== 'zstd')
    throw new UnsupportedError(
      `keyring: compression ${String(algorithms.compression)} is not supported`,
    );
  const chunker = object(algorithms.chunker, 'algorithms.chunker', ['name', 'min', 'avg', 'max']);
  if (chunker.name !== 'fastcdc-gear32-v1')
    throw new UnsupportedError(`keyring: chunker ${String(chunker.name)} is not supported`);
  const chunkerParams: ChunkerParams = {
    name: 'fastcdc-gear32-v1',
    min: integer(chunker.min, 'chunker.min'),
    avg: integer(chunker.avg, 'chunker.avg'),
    max: integer(chunker.max, 'chunker.max'),
  };
  validateChunkerParams(chunkerParams);
  if (typeof top.createdAt !== 'string' || Number.isNaN(Date.parse(top.createdAt)))
    fail('createdAt must be a date');
  return {
    format: 'coffer-keyring',
    version: 1,
    id: top.id,
    kdf: { name: 'scrypt', ...params, salt: kdf.salt as string },
    wrap: { name: 'AES-256-GCM', nonce: wrap.nonce as string, sealed: wrap.sealed as string },
    algorithms: {
      id: 'HMAC-SHA256',
      cipher: 'AES-256-GCM',
      compression: 'zstd',
      chunker: chunkerParams,
    },
    createdAt: top.createdAt,
  };
}

async function unwrap(json: KeyringJson, passphrase: string): Promise<Buffer> {
  const wrapKey = await deriveWrapKey(passphrase, Buffer.from(json.kdf.salt, 'base64'), json.kdf);
  const sealed = Buffer.from(json.wrap.sealed, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', wrapKey, Buffer.from(json.wrap.nonce, 'base64'));
  decipher.setAAD(aad(json.id));
  decipher.setAuthTag(sealed.subarray(MASTER_KEYS_LENGTH));
  try {
    return Buffer.concat([
      decipher.update(sealed.subarray(0, MASTER_KEYS_LENGTH)),
      decipher.final(),
    ]);
  } catch (cause) {
    throw new WrongPassphraseError({ cause });
  }
}

/** Opens a keyring with its passphrase; a wrong one gives WrongPassphraseError. */
export async function openKeyring(
  keyring: KeyringJson | string,
  passphrase: string,
): Promise<MasterKeys> {
  const json =
    typeof keyring === 'string' ? parseKeyring(keyring) : parseKeyring(JSON.stringify(keyring));
  return keysOf(json, await unwrap(json, passphrase));
}

/** Rewraps the same keys under a new passphrase, with a new salt and nonce. */
export async function rewrapKeyring(
  keyring: KeyringJson | string,
  oldPassphrase: string,
  newPassphrase: string,
  options: { kdf?: { N: number; r: number; p: number } } = {},
): Promise<KeyringJson> {
  const json =
    typeof keyring === 'string' ? parseKeyring(keyring) : parseKeyring(JSON.stringify(keyring));
  const masterKeys = await unwrap(json, oldPassphrase);
  const { json: rewrapped } = await createKeyringWith(newPassphrase, {
    masterKeys,
    salt: randomBytes(32),
    nonce: randomBytes(12),
    id: json.id,
    kdf: options.kdf ?? { N: json.kdf.N, r: json.kdf.r, p: json.kdf.p },
    chunker: json.algorithms.chunker,
    now: new Date(json.createdAt),
  });
  return rewrapped;
}
