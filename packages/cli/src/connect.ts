/**
 * @module connect
 * Turns command-line options and environment into a vault client: admin commands use
 * COFFER_URL/COFFER_TOKEN with a pinned fingerprint, agent commands their registration.
 */
import {
  VaultClient,
  certificateFingerprint,
  loadAgent,
  resolveConfigDir,
  loadStoredKeys,
  storedKeysPath,
  type LoadedAgent,
} from '@coffer/agent';
import { CofferError, openKeyring, type MasterKeys } from '@coffer/core';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readPassphrase } from './passphrase.js';

export const DEFAULT_DATA_DIR = './coffer-data';
export const DEFAULT_LISTEN = '127.0.0.1:8443';

export interface AdminOptions {
  url?: string;
  token?: string;
  fingerprint?: string;
  data?: string;
}

/** `value` if it is an https:// URL, else a usage error naming where it came from. */
export function checkHttpsUrl(value: string, source: string): string {
  let url: URL;
  try {
    // "host:8443" parses as a URL of scheme "host:"; without "//" it is no vault address.
    if (!value.includes('//')) throw new TypeError('no scheme');
    url = new URL(value);
  } catch {
    throw new CofferError(
      'USAGE',
      `${source} ${value}: not a URL; give the vault's address, e.g. https://vault.example:8443`,
    );
  }
  if (url.protocol !== 'https:') {
    throw new CofferError('USAGE', `${source} ${value}: the vault speaks HTTPS only (https://…)`);
  }
  return value;
}

/** The vault URL from --url or COFFER_URL, checked, so a typo gets a clear line. */
export function vaultUrl(options: AdminOptions): string {
  if (options.url) return checkHttpsUrl(options.url, '--url');
  if (process.env.COFFER_URL) return checkHttpsUrl(process.env.COFFER_URL, 'COFFER_URL');
  return `https://${DEFAULT_LISTEN}`;
}

/** A client for a tenant user or the service admin. */
export async function adminClient(options: AdminOptions): Promise<VaultClient> {
  const url = vaultUrl(options);
  const token = options.token ?? process.env.COFFER_TOKEN;
  if (!token) {
    throw new CofferError(
      'USAGE',
      'no token: set COFFER_TOKEN (the service admin token is in DATA/admin.token) or pass --token',
    );
  }
  let fingerprint = options.fingerprint ?? process.env.COFFER_FINGERPRINT;
  if (!fingerprint) {
    const data = options.data ?? process.env.COFFER_DATA ?? DEFAULT_DATA_DIR;
    const certPath = join(data, 'tls', 'cert.pem');
    try {
      fingerprint = certificateFingerprint(await readFile(certPath, 'utf8'));
    } catch {
      throw new CofferError(
        'USAGE',
        `cannot pin the vault's certificate: no ${certPath}; pass --data DIR of 'coffer vault serve' or --fingerprint SHA256`,
      );
    }
  }
  return new VaultClient({ url, token, fingerprint });
}

export interface AgentOptions {
  config?: string;
  passphraseFile?: string;
  agent?: string;
}

export interface AgentConnection {
  loaded: LoadedAgent;
  client: VaultClient;
  /** The agent whose points are read: this machine, or another one with --agent. */
  sourceAgentId: string;
}

export interface AgentSession extends AgentConnection {
  keys: MasterKeys;
}

/** Loads this machine's registration and connects to its vault. */
export async function agentConnection(options: AgentOptions): Promise<AgentConnection> {
  const loaded = await loadAgent(resolveConfigDir(options.config));
  const client = new VaultClient({
    url: loaded.state.url,
    fingerprint: loaded.state.fingerprint,
    token: loaded.token,
  });
  return { loaded, client, sourceAgentId: options.agent ?? loaded.state.agentId };
}

/**
 * Opens the source agent's keyring: with the keys `coffer agent unlock` stored, when they are
 * this machine's and no passphrase was given; else asks for the passphrase and stretches it.
 */
export async function unlockKeys(
  connection: AgentConnection,
  options: AgentOptions,
  { stored = true }: { stored?: boolean } = {},
): Promise<MasterKeys> {
  const { loaded, client, sourceAgentId } = connection;
  const own = sourceAgentId === loaded.state.agentId;
  if (stored && own && !options.passphraseFile) {
    const stored = await loadStoredKeys(storedKeysPath(loaded.dir), loaded.state.keyringId);
    if (stored) return stored;
  }
  const keyring = own ? loaded.keyring : (await client.keyring(sourceAgentId)).keyring;
  const passphrase = await readPassphrase({
    file: options.passphraseFile,
    label: own ? 'Passphrase' : `Passphrase of agent ${sourceAgentId}`,
  });
  return openKeyring(keyring, passphrase);
}

/** Connects, then opens the source agent's keyring with the passphrase. */
export async function agentSession(options: AgentOptions): Promise<AgentSession> {
  const connection = await agentConnection(options);
  try {
    return { ...connection, keys: await unlockKeys(connection, options) };
  } catch (error) {
    await connection.client.close();
    throw error;
  }
}
