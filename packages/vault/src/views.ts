/**
 * @module views
 * Rows as the API shows them.
 */
import {
  ONLINE_WINDOW_MS,
  type Agent,
  type Point,
  type Role,
  type Tenant,
  type TokenInfo,
  type Vault,
} from '@coffer/api';
import type { AgentTable, PointTable, TenantTable, TokenTable, VaultTable } from './db/schema.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** A tenant row as the API shows it. */
export function tenantView(row: TenantTable): Tenant {
  return { id: row.id, name: row.name, createdAt: iso(row.created_at) };
}

/** A vault row as the API shows it. */
export function vaultView(row: VaultTable): Vault {
  return { id: row.id, tenantId: row.tenant_id, name: row.name, createdAt: iso(row.created_at) };
}

/** An agent row as the API shows it; online means it polled within ONLINE_WINDOW_MS of `now`. */
export function agentView(row: AgentTable, now: number): Agent {
  const agent: Agent = {
    id: row.id,
    vaultId: row.vault_id,
    name: row.name,
    hostname: row.hostname,
    keyringId: row.keyring_id,
    createdAt: iso(row.created_at),
    online: row.last_contact_at !== null && now - row.last_contact_at <= ONLINE_WINDOW_MS,
    ...(row.removed_at != null ? { removedAt: iso(row.removed_at) } : {}),
  };
  if (row.last_contact_at !== null) agent.lastContactAt = iso(row.last_contact_at);
  if (row.agent_version !== null) agent.version = row.agent_version;
  return agent;
}

/** A user token row as the API lists it (never its hash). */
export function tokenView(
  row: Pick<TokenTable, 'id' | 'name' | 'role' | 'created_at' | 'expires_at' | 'revoked_at'>,
): TokenInfo {
  return {
    id: row.id,
    name: row.name,
    role: row.role as Role,
    createdAt: iso(row.created_at),
    ...(row.expires_at != null ? { expiresAt: iso(row.expires_at) } : {}),
    ...(row.revoked_at != null ? { revokedAt: iso(row.revoked_at) } : {}),
  };
}

/** A recovery point row as the API shows it. */
export function pointView(row: PointTable): Point {
  const point: Point = {
    id: row.id,
    vaultId: row.vault_id,
    agentId: row.agent_id,
    keyringId: row.keyring_id,
    item: row.item,
    hostname: row.hostname,
    startTime: iso(row.start_time),
    endTime: iso(row.end_time),
    createdAt: iso(row.created_at),
    stats: JSON.parse(row.stats) as Point['stats'],
  };
  if (row.parent !== null) point.parent = row.parent;
  if (row.deleted_at != null) {
    point.deletedAt = iso(row.deleted_at);
    if (row.purge_at != null) point.purgeAt = iso(row.purge_at);
    if (row.delete_reason != null) point.deleteReason = row.delete_reason;
  }
  return point;
}
