/**
 * @module keys/join-key
 * The keyring join key (docs/format.md §3.2): an Ed25519 key pair derived from a keyring's
 * master keys. The vault keeps its public half, so a machine joining the keyring proves that it
 * holds the keys by a signature, without the vault ever seeing them.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import type { MasterKeys } from './keyring.js';

/** HKDF info string and signature domain; a new derivation gets a new version suffix. */
export const JOIN_KEY_INFO = 'coffer-keyring-join-v1';

// DER framing of a raw 32-byte Ed25519 seed (PKCS#8) and public key (SPKI), RFC 8410.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface JoinKey {
  privateKey: KeyObject;
  /** The raw 32-byte Ed25519 public key. */
  publicKey: Buffer;
}

/** The 32-byte Ed25519 seed: HKDF-SHA256(encryptionKey || idKey, no salt, JOIN_KEY_INFO). */
export function joinKeySeed(keys: MasterKeys): Buffer {
  const ikm = Buffer.concat([keys.encryptionKey, keys.idKey]);
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), JOIN_KEY_INFO, 32));
}

/**
 * Derives the keyring's join key.
 * @example const { publicKey } = deriveJoinKey(keys); // stored by the vault with the keyring
 */
export function deriveJoinKey(keys: MasterKeys): JoinKey {
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, joinKeySeed(keys)]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { privateKey, publicKey: Buffer.from(spki.subarray(SPKI_PREFIX.length)) };
}

/**
 * What a joining machine signs: the domain, the vault, the keyring and the SHA-256 of the
 * one-time registration secret, so that a signature is good for one registration only.
 */
export function joinMessage(vaultId: string, keyringId: string, secret: string): Buffer {
  const secretHash = createHash('sha256').update(secret, 'utf8').digest('hex');
  return Buffer.from(`${JOIN_KEY_INFO}\n${vaultId}\n${keyringId}\n${secretHash}`, 'utf8');
}

/** Signs a registration into keyring `keyringId` of vault `vaultId` with the join key. */
export function signJoin(key: JoinKey, vaultId: string, keyringId: string, secret: string): Buffer {
  return sign(null, joinMessage(vaultId, keyringId, secret), key.privateKey);
}

/** True when `signature` is the join key's signature of that registration. */
export function verifyJoin(
  publicKey: Uint8Array,
  signature: Uint8Array,
  vaultId: string,
  keyringId: string,
  secret: string,
): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const key = createPublicKey({
    key: Buffer.concat([SPKI_PREFIX, publicKey]),
    format: 'der',
    type: 'spki',
  });
  return verify(null, joinMessage(vaultId, keyringId, secret), key, signature);
}
