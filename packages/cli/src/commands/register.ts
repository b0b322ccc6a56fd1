/**
 * @module commands/register
 * `coffer register`: creates this machine's keyring from a passphrase, or joins an existing
 * keyring with its passphrase (`--keyring FILE`), and registers into the vault named by a
 * credentials file.
 */
import { VaultCredentials } from '@coffer/api';
import {
  VaultClient,
  isRegistered,
  resolveConfigDir,
  saveAgent,
  saveStoredKeys,
  storedKeysPath,
} from '@coffer/agent';
import {
  CofferError,
  checkPassphrase,
  createKeyring,
  deriveJoinKey,
  openKeyring,
  parseKeyring,
  signJoin,
  type MasterKeys,
} from '@coffer/core';
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
  /** A keyring JSON file to join instead of creating a new keyring. */
  keyring?: string;
  /** Also store the opened keys (0600) so the agent daemon runs without the passphrase. */
  unattended?: boolean;
  json?: boolean;
}

/** The keyring text and what the vault needs to create it or let this machine join it. */
interface KeyringChoice {
  text: string;
  id: string;
  joinKey: string;
  joinProof?: string;
  /** The opened keys, stored for the daemon with --unattended. */
  keys: MasterKeys;
}

/**
 * Test suites set COFFER_TESTONLY_WEAKEN_KDF=1 so that new keyrings are stretched with the
 * cheapest scrypt cost: at the default cost (32 MiB, 0.3 s or more) every command that opens the
 * keyring would spend most of a test's time stretching the passphrase. The keyring records its
 * cost, so such a keyring stays weak: never set it for real data.
 */
const WEAKEN_KDF_ENV = 'COFFER_TESTONLY_WEAKEN_KDF';
const TEST_ONLY_KDF = { N: 2 ** 10, r: 8, p: 1 };

async function newKeyring(passphraseFile: string | undefined): Promise<KeyringChoice> {
  if (!passphraseFile && !process.env.COFFER_PASSPHRASE) {
    process.stderr.write(
      'Choose a passphrase of at least 16 characters. It encrypts your backups and is never sent to the vault:\n' +
        'if it is lost, the backups cannot be restored by anyone.\n',
    );
  }
  const passphrase = await readPassphrase({ file: passphraseFile, confirm: true });
  checkPassphrase(passphrase);
  const { json, keys } = await createKeyring(
    passphrase,
    process.env[WEAKEN_KDF_ENV] === '1' ? { kdf: TEST_ONLY_KDF } : {},
  );
  return {
    text: JSON.stringify(json),
    id: json.id,
    joinKey: deriveJoinKey(keys).publicKey.toString('base64'),
    keys,
  };
}

/** Opens the keyring of FILE with its passphrase and signs this registration with its join key. */
async function joinedKeyring(
  path: string,
  credentials: VaultCredentials,
  passphraseFile: string | undefined,
): Promise<KeyringChoice> {
  const raw = await readFile(path).catch((error: unknown) => {
    throw new CofferError('USAGE', `cannot read --keyring ${path}: ${(error as Error).message}`);
  });
  let json;
  try {
    json = parseKeyring(raw);
  } catch (error) {
    throw new CofferError(
      'USAGE',
      `--keyring ${path} is not a Coffer keyring (${(error as Error).message}); ` +
        "copy keyring.json from the first machine's configuration, or use 'coffer agent keyring AGENT --out FILE'",
    );
  }
  if (credentials.joinKeyringId !== undefined && credentials.joinKeyringId !== json.id) {
    throw new CofferError(
      'USAGE',
      `these credentials join keyring ${credentials.joinKeyringId}, but ${path} is keyring ${json.id}`,
    );
  }
  const keys = await openKeyring(
    json,
    await readPassphrase({ file: passphraseFile, label: `Passphrase of keyring ${json.id}` }),
  );
  const joinKey = deriveJoinKey(keys);
  return {
    text: JSON.stringify(json),
    id: json.id,
    joinKey: joinKey.publicKey.toString('base64'),
    joinProof: signJoin(joinKey, credentials.vaultId, json.id, credentials.secret).toString(
      'base64',
    ),
    keys,
  };
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
  if (credentials.joinKeyringId !== undefined && options.keyring === undefined) {
    throw new CofferError(
      'USAGE',
      `these credentials join keyring ${credentials.joinKeyringId}: pass --keyring FILE with that keyring`,
    );
  }
  const keyring = options.keyring
    ? await joinedKeyring(options.keyring, credentials, options.passphraseFile)
    : await newKeyring(options.passphraseFile);
  const client = new VaultClient({ url: credentials.url, fingerprint: credentials.fingerprint });
  try {
    const name = options.name ?? hostname();
    const result = await client.register({
      secret: credentials.secret,
      name,
      hostname: hostname(),
      keyring: keyring.text,
      joinKey: keyring.joinKey,
      ...(keyring.joinProof ? { joinProof: keyring.joinProof } : {}),
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
      keyring.text,
    );
    const keysPath = storedKeysPath(dir);
    if (options.unattended) await saveStoredKeys(keysPath, keyring.keys);
    if (options.json)
      printJson({
        agent: result.agent,
        vault: result.vault,
        config: dir,
        ...(options.unattended ? { keys: keysPath } : {}),
      });
    else
      printLines(
        `Registered ${name} as agent ${result.agent.id} in vault ${result.vault.name}` +
          (options.keyring ? `, keyring ${keyring.id}.` : '.'),
        `Configuration in ${dir}. Keep your passphrase safe: without it nothing can be restored.`,
        ...(options.unattended
          ? [
              `Unattended: the opened keys are stored in ${keysPath} (0600), so the agent daemon runs`,
              'without the passphrase; whoever reads that file reads these backups (docs/security.md).',
              'Next: coffer protect PATH... --item NAME --policy POLICY, then coffer agent run',
            ]
          : ['Next: coffer backup PATH...']),
      );
    return 0;
  } finally {
    await client.close();
  }
}
