/**
 * @module commands/register
 * `coffer register`: creates this machine's keyring from a passphrase and registers it into
 * the vault named by a credentials file.
 */
import { VaultCredentials } from '@coffer/api';
import { VaultClient, isRegistered, resolveConfigDir, saveAgent } from '@coffer/agent';
import { CofferError, checkPassphrase, createKeyring } from '@coffer/core';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { Value } from 'typebox/value';
import { printJson, printLines } from '../output.js';
import { readPassphrase } from '../passphrase.js';

export interface RegisterOptions {
  credentials: string;
  name?: string;
  config?: string;
  passphraseFile?: string;
  json?: boolean;
}

async function readCredentials(path: string): Promise<VaultCredentials> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new CofferError(
      'USAGE',
      `cannot read credentials file ${path}: ${(error as Error).message}`,
    );
  }
  if (!Value.Check(VaultCredentials, parsed)) {
    throw new CofferError('USAGE', `${path} is not a Coffer vault credentials file`);
  }
  if (Date.parse(parsed.expiresAt) <= Date.now()) {
    throw new CofferError(
      'CREDENTIALS_EXPIRED',
      `these vault credentials expired at ${parsed.expiresAt}; ask for new ones ('coffer vault credentials')`,
    );
  }
  return parsed;
}

/** Registers this machine. */
export async function register(options: RegisterOptions): Promise<number> {
  const dir = resolveConfigDir(options.config);
  if (await isRegistered(dir)) {
    throw new CofferError(
      'USAGE',
      `this machine is registered already (${dir}); use --config DIR for another registration`,
    );
  }
  const credentials = await readCredentials(options.credentials);
  if (!options.passphraseFile && !process.env.COFFER_PASSPHRASE) {
    process.stderr.write(
      'Choose a passphrase of at least 16 characters. It encrypts your backups and is never sent to the vault:\n' +
        'if it is lost, the backups cannot be restored by anyone.\n',
    );
  }
  const passphrase = await readPassphrase({ file: options.passphraseFile, confirm: true });
  checkPassphrase(passphrase);
  const { json: keyring } = await createKeyring(passphrase);
  const keyringText = JSON.stringify(keyring);
  const client = new VaultClient({ url: credentials.url, fingerprint: credentials.fingerprint });
  try {
    const name = options.name ?? hostname();
    const result = await client.register({
      secret: credentials.secret,
      name,
      hostname: hostname(),
      keyring: keyringText,
    });
    await saveAgent(
      dir,
      {
        format: 'coffer-agent',
        version: 1,
        url: credentials.url,
        fingerprint: credentials.fingerprint,
        tenantId: credentials.tenantId,
        vaultId: result.vault.id,
        vaultName: result.vault.name,
        agentId: result.agent.id,
        name,
        keyringId: keyring.id,
        registeredAt: new Date().toISOString(),
      },
      result.token,
      keyringText,
    );
    if (options.json) printJson({ agent: result.agent, vault: result.vault, config: dir });
    else
      printLines(
        `Registered ${name} as agent ${result.agent.id} in vault ${result.vault.name}.`,
        `Configuration in ${dir}. Keep your passphrase safe: without it nothing can be restored.`,
        'Next: npx coffer backup PATH...',
      );
    return 0;
  } finally {
    await client.close();
  }
}
