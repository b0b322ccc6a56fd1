/**
 * @module scope
 * Who runs a protection command and on what: a tenant user (COFFER_TOKEN or --token) on a vault
 * of the tenant, or, without a token, this machine's agent on its own vault. Also finds items,
 * agents and policies by name or id.
 */
import type { Agent, Item, Policy } from '@coffer/api';
import { VaultClient, isRegistered, loadAgent, resolveConfigDir } from '@coffer/agent';
import { CofferError } from '@coffer/core';
import { findVault } from './commands/admin.js';
import { adminClient, type AdminOptions } from './connect.js';

export interface ScopeOptions extends AdminOptions {
  /** A vault by name or id (tenant users). */
  vault?: string;
  /** This machine's registration (agents). */
  config?: string;
}

export interface Scope {
  client: VaultClient;
  /** 'user' with a tenant token; 'agent' on a registered machine without one. */
  as: 'user' | 'agent';
  vaultId: string;
  /** This machine's agent, when running as the agent. */
  self?: string;
}

/** Connects as a tenant user, or as this machine's agent when no token is given. */
export async function openScope(options: ScopeOptions): Promise<Scope> {
  const token = options.token ?? process.env.COFFER_TOKEN;
  const dir = resolveConfigDir(options.config);
  if (!token && (await isRegistered(dir))) {
    const loaded = await loadAgent(dir);
    const client = new VaultClient({
      url: loaded.state.url,
      fingerprint: loaded.state.fingerprint,
      token: loaded.token,
    });
    return { client, as: 'agent', vaultId: loaded.state.vaultId, self: loaded.state.agentId };
  }
  const client = await adminClient(options);
  try {
    let vaultId: string;
    if (options.vault !== undefined) vaultId = (await findVault(client, options.vault)).id;
    else {
      const { vaults } = await client.listVaults();
      if (vaults.length !== 1) {
        throw new CofferError(
          'USAGE',
          vaults.length === 0
            ? 'this tenant has no vault yet: npx coffer vault create NAME'
            : `this tenant has ${vaults.length} vaults: pass --vault NAME (${vaults.map((v) => v.name).join(', ')})`,
        );
      }
      vaultId = vaults[0]!.id;
    }
    return { client, as: 'user', vaultId };
  } catch (error) {
    await client.close();
    throw error;
  }
}

/** Runs `work` in a scope and closes its connection. */
export async function withScope<T>(
  options: ScopeOptions,
  work: (scope: Scope) => Promise<T>,
): Promise<T> {
  const scope = await openScope(options);
  try {
    return await work(scope);
  } finally {
    await scope.client.close();
  }
}

/** An agent of the scope's vault by id or name (an agent itself: only itself). */
export async function findAgent(scope: Scope, spec: string): Promise<string> {
  if (scope.as === 'agent') {
    if (spec !== scope.self) {
      throw new CofferError(
        'USAGE',
        `run on agent ${scope.self}, this command reaches only its own items and jobs`,
      );
    }
    return spec;
  }
  const { agents } = await scope.client.listAgents(scope.vaultId);
  const byId = agents.find((a: Agent) => a.id === spec);
  const byName = agents.filter((a: Agent) => a.name === spec);
  if (byId) return byId.id;
  if (byName.length === 1) return byName[0]!.id;
  throw new CofferError(
    byName.length > 1 ? 'USAGE' : 'NOT_FOUND',
    byName.length > 1
      ? `several machines are named ${spec}; give the agent id (${byName.map((a) => a.id).join(', ')})`
      : `no agent ${spec} in this vault ('coffer vault agents VAULT' lists them)`,
  );
}

/** An item by id or name (of agent `agent`, when given). */
export async function findItem(scope: Scope, spec: string, agent?: string): Promise<Item> {
  const agentId = agent === undefined ? undefined : await findAgent(scope, agent);
  const { items } =
    scope.as === 'agent'
      ? await scope.client.agentItems(scope.self!)
      : await scope.client.vaultItems(scope.vaultId, agentId);
  const byId = items.find((i) => i.id === spec);
  if (byId) return byId;
  const named = items.filter((i) => i.name === spec);
  if (named.length === 1) return named[0]!;
  if (named.length > 1) {
    throw new CofferError(
      'USAGE',
      `${spec} is an item of several machines (${named.map((i) => i.agentId).join(', ')}); pass --agent ID`,
    );
  }
  throw new CofferError('NOT_FOUND', `no item ${spec} ('coffer items' lists them)`);
}

/** A policy of the scope's vault by id or name. */
export async function findPolicy(scope: Scope, spec: string): Promise<Policy> {
  if (scope.as === 'agent') return scope.client.policy(spec);
  const { policies } = await scope.client.listPolicies(scope.vaultId);
  const policy = policies.find((p) => p.id === spec) ?? policies.find((p) => p.name === spec);
  if (!policy)
    throw new CofferError(
      'NOT_FOUND',
      `no policy ${spec} in this vault ('coffer policy list' shows them)`,
    );
  return policy;
}
