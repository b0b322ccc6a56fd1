/**
 * @module db/schema
 * The vault's metadata tables as Kysely sees them. Times are milliseconds since the epoch; blob
 * ids and pack names are lowercase hex.
 */
import type { Generated } from 'kysely';

export interface TenantTable {
  id: string;
  name: string;
  created_at: number;
}

export interface TokenTable {
  id: string;
  /** SHA-256 (hex) of the token; the token itself is never stored. */
  hash: string;
  kind: 'admin' | 'user' | 'agent';
  tenant_id: string | null;
  role: string | null;
  agent_id: string | null;
  name: string;
  created_at: number;
}

export interface VaultTable {
  id: string;
  tenant_id: string;
  name: string;
  created_at: number;
}

export interface RegistrationTable {
  id: string;
  vault_id: string;
  secret_hash: string;
  expires_at: number;
  used_at: number | null;
  created_at: number;
}

export interface KeyringTable {
  id: string;
  vault_id: string;
  json: string;
  created_at: number;
  /**
   * Closure flags of this keyring's blobs count only when equal to this; any loss (a pack found
   * missing or damaged, a row deleted) increments it, invalidating every flag at once.
   */
  closure_epoch: Generated<number>;
}

export interface AgentTable {
  id: string;
  vault_id: string;
  tenant_id: string;
  name: string;
  hostname: string;
  keyring_id: string;
  created_at: number;
}

export interface GrantTable {
  agent_id: string;
  grantee_id: string;
  created_at: number;
}

export interface PackTable {
  keyring_id: string;
  name: string;
  size: number;
  blobs: number;
  created_at: number;
  /** ok, or missing/damaged once the vault's own read or re-hash of the pack failed. */
  state: Generated<PackState>;
  /** When the vault last read or re-hashed the whole pack, if ever. */
  checked_at: number | null;
}

export type PackState = 'ok' | 'missing' | 'damaged';

export interface BlobTable {
  keyring_id: string;
  id: string;
  pack: string;
  offset: number;
  length: number;
  type: number;
  /** Concatenated 32-byte ids the blob refers to (trees and manifests), else null. */
  refs: Buffer | null;
  /**
   * The keyring's closure epoch at which every blob reachable from this one was proven stored
   * (0: never); it counts only while it equals the keyring's current epoch.
   */
  closed: Generated<number>;
}

export interface PointTable {
  id: string;
  vault_id: string;
  agent_id: string;
  keyring_id: string;
  item: string;
  parent: string | null;
  hostname: string;
  start_time: number;
  end_time: number;
  created_at: number;
  /** JSON of the point's PointStats. */
  stats: string;
}

export interface Database {
  tenants: TenantTable;
  tokens: TokenTable;
  vaults: VaultTable;
  registrations: RegistrationTable;
  keyrings: KeyringTable;
  agents: AgentTable;
  grants: GrantTable;
  packs: PackTable;
  blobs: BlobTable;
  points: PointTable;
}
