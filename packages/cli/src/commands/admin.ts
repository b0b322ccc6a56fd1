/**
 * @module commands/admin
 * Commands of the service admin and tenant users: tenants, vaults, credentials, agents and
 * grants.
 */
import type { Vault } from '@coffer/api';
import type { VaultClient } from '@coffer/agent';
import { CofferError } from '@coffer/core';
import { writeFile } from 'node:fs/promises';
import { adminClient, type AdminOptions } from '../connect.js';
import { formatBytes, printJson, printLines } from '../output.js';

export interface JsonOption {
  json?: boolean;
}

/** Runs `work` with a client of the vault named by `options`, and closes it. */
export async function withClient<T>(
  options: AdminOptions,
  work: (c: VaultClient) => Promise<T>,
): Promise<T> {
  const client = await adminClient(options);
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

/** Finds a vault of the tenant by id or name. */
export async function findVault(client: VaultClient, spec: string): Promise<Vault> {
  const { vaults } = await client.listVaults();
  const vault = vaults.find((v) => v.id === spec) ?? vaults.find((v) => v.name === spec);
  if (!vault)
    throw new CofferError(
      'NOT_FOUND',
      `no vault ${spec} in this tenant ('coffer vault list' shows them)`,
    );
  return vault;
}

/** `coffer tenant create NAME`. */
export function tenantCreate(name: string, options: AdminOptions & JsonOption): Promise<number> {
  return withClient(options, async (client) => {
    const result = await client.createTenant(name);
    if (options.json) printJson({ tenant: result.tenant, secret: result.token });
    else
      printLines(
        `Created tenant ${result.tenant.name} (${result.tenant.id}).`,
        `Owner token (shown once, keep it secret):`,
        `  ${result.token}`,
        `Next: COFFER_TOKEN=${result.token} npx coffer vault create my-vault`,
      );
    return 0;
  });
}

/** `coffer vault create NAME`. */
export function vaultCreate(name: string, options: AdminOptions & JsonOption): Promise<number> {
  return withClient(options, async (client) => {
    const vault = await client.createVault(name);
    if (options.json) printJson({ vault });
    else
      printLines(
        `Created vault ${vault.name} (${vault.id}).`,
        `Next: npx coffer vault credentials ${vault.name} --out ${vault.name}.credentials`,
      );
    return 0;
  });
}

/** `coffer vault list`. */
export function vaultList(options: AdminOptions & JsonOption): Promise<number> {
  return withClient(options, async (client) => {
    const result = await client.listVaults();
    if (options.json) printJson(result);
    else if (result.vaults.length === 0) printLines('No vaults yet: npx coffer vault create NAME');
    else printLines(...result.vaults.map((v) => `${v.id}  ${v.name}  created ${v.createdAt}`));
    return 0;
  });
}

/** `coffer vault credentials VAULT --out FILE`. */
export function vaultCredentials(
  spec: string,
  options: AdminOptions & JsonOption & { out: string; joinKeyring?: string },
): Promise<number> {
  return withClient(options, async (client) => {
    const vault = await findVault(client, spec);
    const credentials = await client.createCredentials(vault.id, options.joinKeyring);
    // 0600 and never over an existing file: the file registers a machine until it expires.
    await writeFile(options.out, `${JSON.stringify(credentials, null, 2)}\n`, {
      mode: 0o600,
      flag: 'wx',
    }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EEXIST')
        throw new CofferError('USAGE', `${options.out} exists; choose another --out`);
      throw error;
    });
    if (options.json)
      printJson({
        credentials: { file: options.out, vaultId: vault.id, expiresAt: credentials.expiresAt },
      });
    else
      printLines(
        `Wrote ${options.out}: registers one machine into vault ${vault.name}, once, until ${credentials.expiresAt}.`,
        'Keep it secret until then: whoever holds it can register a machine into this vault.',
        options.joinKeyring
          ? `On that machine: coffer register --credentials ${options.out} --keyring FILE (keyring ${options.joinKeyring})`
          : `On that machine: coffer register --credentials ${options.out}`,
      );
    return 0;
  });
}

/** `coffer vault agents VAULT`. */
export function vaultAgents(spec: string, options: AdminOptions & JsonOption): Promise<number> {
  return withClient(options, async (client) => {
    const vault = await findVault(client, spec);
    const result = await client.listAgents(vault.id);
    if (options.json) printJson(result);
    else if (result.agents.length === 0) printLines(`No machines registered in ${vault.name} yet.`);
    else
      printLines(
        ...result.agents.map(
          (a) =>
            `${a.id}  ${a.name}  (${a.hostname}) registered ${a.createdAt}` +
            (a.removedAt
              ? `, removed ${a.removedAt}`
              : `, ${a.online ? 'online' : a.lastContactAt ? `offline since ${a.lastContactAt}` : 'daemon never connected'}${a.version ? `, version ${a.version}` : ''}`),
        ),
      );
    return 0;
  });
}

/** `coffer vault points VAULT`. */
export function vaultPoints(spec: string, options: AdminOptions & JsonOption): Promise<number> {
  return withClient(options, async (client) => {
    const vault = await findVault(client, spec);
    const result = await client.listVaultPoints(vault.id);
    if (options.json) printJson(result);
    else if (result.points.length === 0) printLines(`No recovery points in ${vault.name} yet.`);
    else
      printLines(
        ...result.points.map(
          (p) =>
            `${p.id.slice(0, 12)}  ${p.endTime}  ${p.agentId}  ${p.item}  ${formatBytes(p.stats.bytes)}`,
        ),
      );
    return 0;
  });
}

/** `coffer agent grant AGENT --to GRANTEE --vault VAULT`. */
export function agentGrant(
  agentId: string,
  options: AdminOptions & JsonOption & { to: string; vault: string },
): Promise<number> {
  return withClient(options, async (client) => {
    const vault = await findVault(client, options.vault);
    await client.grant(vault.id, agentId, options.to);
    if (options.json) printJson({ grant: { agentId, granteeId: options.to, vaultId: vault.id } });
    else
      printLines(
        `Agent ${options.to} may now list and restore the points of agent ${agentId}`,
        `(with that agent's passphrase): coffer points --agent ${agentId}`,
        `To take it back: coffer agent revoke-grant ${agentId} --from ${options.to}`,
      );
    return 0;
  });
}
