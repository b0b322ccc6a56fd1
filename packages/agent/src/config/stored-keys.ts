/**
 * @module config/stored-keys
 * The opened keys of this machine's keyring, stored (0600) in its config directory by
 * `coffer agent unlock` or `coffer register --unattended`, so that the agent daemon can back up
 * and restore without anyone typing the passphrase. Whoever can read this file can read every
 * backup of the keyring: docs/security.md, "Unattended agents".
 */
import {
  CofferError,
  validateChunkerParams,
  type ChunkerParams,
  type MasterKeys,
} from '@coffer/core';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './agent-state.js';

/** The file's name in the config directory. */
export const STORED_KEYS_FILE = 'keys';

interface StoredKeysJson {
  format: 'coffer-stored-keys';
  version: 1;
  keyringId: string;
  encryptionKey: string;
  idKey: string;
  chunker: ChunkerParams;
}

/** Where the stored keys of the registration in `configDir` live. */
export function storedKeysPath(configDir: string): string {
  return join(configDir, STORED_KEYS_FILE);
}

/** Writes `keys` to `path`, readable only by this user. */
export async function saveStoredKeys(path: string, keys: MasterKeys): Promise<void> {
  const json: StoredKeysJson = {
    format: 'coffer-stored-keys',
    version: 1,
    keyringId: keys.keyringId,
    encryptionKey: keys.encryptionKey.toString('base64'),
    idKey: keys.idKey.toString('base64'),
    chunker: keys.chunker,
  };
  await writeFileAtomic(path, `${JSON.stringify(json)}\n`, 0o600);
}

/** Deletes the stored keys; true when there were some. */
export async function removeStoredKeys(path: string): Promise<boolean> {
  const existed = await stat(path).then(
    () => true,
    () => false,
  );
  await rm(path, { force: true });
  return existed;
}

function invalid(path: string, why: string): CofferError {
  return new CofferError(
    'STORED_KEYS_INVALID',
    `${path}: ${why}; delete it and run 'coffer agent unlock' again`,
  );
}

function key(value: unknown, path: string, name: string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.alloc(0);
  if (bytes.length !== 32) throw invalid(path, `${name} is not 32 bytes of base64`);
  return bytes;
}

/**
 * The keys stored at `path` for keyring `keyringId`, or undefined when there are none. Refuses a
 * file other users may read, one for another keyring, and a damaged one.
 */
export async function loadStoredKeys(
  path: string,
  keyringId: string,
): Promise<MasterKeys | undefined> {
  let text: string;
  try {
    const st = await stat(path);
    if ((st.mode & 0o077) !== 0) {
      throw new CofferError(
        'STORED_KEYS_INVALID',
        `${path} may be read by other users (mode ${(st.mode & 0o777).toString(8)}); run 'chmod 600 ${path}'`,
      );
    }
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let json: Partial<StoredKeysJson>;
  try {
    json = JSON.parse(text) as Partial<StoredKeysJson>;
  } catch {
    throw invalid(path, 'not JSON');
  }
  if (json.format !== 'coffer-stored-keys' || json.version !== 1) {
    throw invalid(path, 'not a Coffer stored-keys file');
  }
  if (json.keyringId !== keyringId) {
    throw invalid(path, `it holds the keys of keyring ${String(json.keyringId)}, not ${keyringId}`);
  }
  const chunker = json.chunker as ChunkerParams;
  validateChunkerParams(chunker);
  return {
    keyringId,
    encryptionKey: key(json.encryptionKey, path, 'encryptionKey'),
    idKey: key(json.idKey, path, 'idKey'),
    chunker,
  };
}
