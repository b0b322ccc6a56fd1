/**
 * @module config/agent-state
 * What a registered machine keeps in its config directory: the vault it belongs to (URL and
 * pinned fingerprint), its agent token (0600) and its wrapped keyring. Files are replaced
 * atomically so a crash never leaves half a config.
 */
import { CofferError } from '@coffer/core';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export interface AgentState {
  format: 'coffer-agent';
  version: 1;
  url: string;
  fingerprint: string;
  tenantId: string;
  vaultId: string;
  vaultName: string;
  agentId: string;
  name: string;
  keyringId: string;
  registeredAt: string;
}

export interface LoadedAgent {
  dir: string;
  state: AgentState;
  token: string;
  keyring: string;
}

/** The agent's config directory: --config, else COFFER_CONFIG, else the user's config dir. */
export function resolveConfigDir(option?: string, env = process.env): string {
  if (option) return resolve(option);
  if (env.COFFER_CONFIG) return resolve(env.COFFER_CONFIG);
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'coffer');
}

/** Writes `data` to `path` atomically (temp file, fsync, rename, fsync of the directory). */
export async function writeFileAtomic(
  path: string,
  data: string | Buffer,
  mode = 0o600,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.tmp-${process.pid}`;
  const file = await open(temp, 'w', mode);
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Saves a registration. */
export async function saveAgent(
  dir: string,
  state: AgentState,
  token: string,
  keyring: string,
): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(dir, 'keyring.json'), keyring);
  await writeFileAtomic(join(dir, 'token'), `${token}\n`);
  // Written last: its presence means the registration is complete.
  await writeFileAtomic(join(dir, 'agent.json'), `${JSON.stringify(state, null, 2)}\n`);
}

/** True when `dir` holds a registration. */
export async function isRegistered(dir: string): Promise<boolean> {
  try {
    await readFile(join(dir, 'agent.json'));
    return true;
  } catch {
    return false;
  }
}

/** Loads the registration in `dir`, or explains how to make one. */
export async function loadAgent(dir: string): Promise<LoadedAgent> {
  let text: string;
  try {
    text = await readFile(join(dir, 'agent.json'), 'utf8');
  } catch {
    throw new CofferError(
      'NOT_REGISTERED',
      `this machine is not registered (no ${join(dir, 'agent.json')}); run 'coffer register --credentials FILE' first`,
    );
  }
  const state = JSON.parse(text) as AgentState;
  if (state.format !== 'coffer-agent' || state.version !== 1) {
    throw new CofferError(
      'CONFIG_INVALID',
      `${join(dir, 'agent.json')} is not a Coffer agent config`,
    );
  }
  const token = (await readFile(join(dir, 'token'), 'utf8')).trim();
  const keyring = await readFile(join(dir, 'keyring.json'), 'utf8');
  return { dir, state, token, keyring };
}
