/**
 * @module db/schema
 * The vault's metadata tables as Kysely sees them. Times are milliseconds since the epoch; ids
 * are lowercase hex except in the blob index (binary, see blob-index/).
 */
import type { Generated, Selectable } from 'kysely';

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
  /** When the token stops working (vault clock), or null for never. */
  expires_at?: number | null;
  /** When it was revoked, or null while it works. */
  revoked_at?: number | null;
}

export interface VaultTable {
  id: string;
  tenant_id: string;
  name: string;
  created_at: number;
  /** Days a soft-deleted point stays restorable before it is purged (migration 0008). */
  soft_delete_days?: number;
  /** 1: soft delete is always on; the period may not be set to 0 (it cannot be turned off). */
  soft_delete_always_on?: number;
  immutability?: Immutability;
  /** When the vault's own expiry of this vault is next due (null: at once). */
  expire_due_at?: number | null;
}

/** off; unlocked (can be turned off again); locked (irreversible). docs/history.md. */
export type Immutability = 'off' | 'unlocked' | 'locked';

export interface RegistrationTable {
  id: string;
  vault_id: string;
  secret_hash: string;
  expires_at: number;
  used_at: number | null;
  created_at: number;
  /** A keyring of the vault these credentials may join without proving they hold its keys. */
  join_keyring_id: string | null;
}

export interface KeyringTable {
  id: string;
  vault_id: string;
  json: string;
  created_at: number;
  /** Base64 of the keyring's Ed25519 join public key (format.md §3.2), once known. */
  join_key: string | null;
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
  /** When a tenant user removed the machine; its token was revoked then, its points stay. */
  removed_at?: number | null;
  /** When the agent last polled for work (null: never). */
  last_contact_at: number | null;
  /** The program version it reported then. */
  agent_version: string | null;
}

export interface GrantTable {
  agent_id: string;
  grantee_id: string;
  created_at: number;
}

/**
 * Packs and blobs are read and written only through blob-index/, which owns their storage
 * format (binary ids, integer references; migration 0007).
 */
export interface PackTable {
  /** Surrogate key blob rows refer to; never reused (AUTOINCREMENT / identity). */
  seq: Generated<number>;
  keyring_id: string;
  /** Lowercase hex of the pack's SHA-256. */
  name: string;
  size: number;
  blobs: number;
  created_at: number;
  /** ok, or missing/damaged once the vault's own read or re-hash of the pack failed. */
  state: Generated<PackState>;
  /** When the vault last read or re-hashed the whole pack, if ever. */
  checked_at: number | null;
  /**
   * When GC found that no blob row points here any more (null: in use); the file and row are
   * deleted once this is older than the GC grace period, so reads in flight finish.
   */
  condemned_at?: number | null;
}

export type PackState = 'ok' | 'missing' | 'damaged';

/**
 * A pack stored and verified whose blobs are not indexed yet (pack-indexer.ts). It has no row
 * in `packs` until it is indexed, so nothing else sees it: garbage collection cannot condemn it
 * and no reader is pointed at it.
 */
export interface PendingPackTable {
  keyring_id: string;
  /** Lowercase hex of the pack's SHA-256. */
  name: string;
  size: number;
  /** How many blobs its footer lists. */
  blobs: number;
  created_at: number;
}

/** A small integer per keyring, so that each blob row holds 1–4 bytes instead of the text id. */
export interface KeyringRefTable {
  seq: Generated<number>;
  keyring_id: string;
}

/** A blob's row. What a tree or manifest refers to is read from its pack's footer (pack-footer.ts). */
export interface BlobTable {
  /** keyring_refs.seq of the blob's keyring. */
  keyring: number;
  /** The blob's 32-byte id. */
  id: Buffer;
  /** packs.seq of the pack that holds it. */
  pack: number;
  offset: number;
  length: number;
  type: number;
  /**
   * The keyring's closure epoch at which every blob reachable from this one was proven stored
   * (0: never); it counts only while it equals the keyring's current epoch.
   */
  closed: Generated<number>;
  /**
   * When GC found the blob unreachable (null: live). A condemned blob is not reported as
   * stored; a commit that needs it revives it; GC deletes it once older than its grace period.
   */
  condemned_at?: number | null;
}

/** Settings of the whole service, such as the instance id of its data directory. */
export interface SettingTable {
  key: string;
  value: string;
}

export interface PointTable {
  /** The manifest id; unique only together with `keyring_id`. */
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
  /** The item the point belongs to (null only for rows a migration could not place). */
  item_id: string | null;
  /** When it was soft-deleted (vault clock), or null while live (migration 0008). */
  deleted_at?: number | null;
  /** When its row is purged (its data then becomes garbage for GC). */
  purge_at?: number | null;
  delete_reason?: PointDeleteReason | null;
  /** Who deleted it: a token's name, or `expiry`. */
  deleted_by?: string | null;
}

/** Why a point was soft-deleted. */
export type PointDeleteReason = 'expired' | 'deleted' | 'protection-stopped';

export interface AuditChainTable {
  /** A tenant id, or `service` for calls without a tenant. */
  chain: string;
  /** The last entry's seq (0 before the first) and hash: the chain head. */
  seq: number;
  hash: string;
}

/** One state-changing call; never a body, token or secret (docs/audit.md). */
export interface AuditLogTable {
  chain: string;
  seq: number;
  at: number;
  actor_kind: 'user' | 'agent' | 'admin' | 'anonymous';
  actor_token: string | null;
  actor_agent: string | null;
  actor_name: string | null;
  method: string;
  route: string;
  action: string;
  vault_id: string | null;
  /** JSON object of the route's parameters. */
  resource: string;
  address: string;
  status: number;
  error_code: string | null;
  /** SHA-256 (hex) of the previous entry's hash and this entry's canonical encoding. */
  hash: string;
}

export interface AlertTable {
  id: string;
  tenant_id: string;
  vault_id: string | null;
  kind: string;
  subject: string;
  severity: 'info' | 'warning' | 'critical';
  state: 'open' | 'acknowledged' | 'resolved';
  message: string;
  first_raised: number;
  last_raised: number;
  count: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  resolved_at: number | null;
  /** Unique while not resolved, NULL after: one alert per problem. */
  open_key: string | null;
}

export interface NotifyTargetTable {
  vault_id: string;
  tenant_id: string;
  webhook_url: string | null;
  /** Kept as given: it signs deliveries, so it cannot be hashed. Never returned or logged. */
  webhook_secret: string | null;
  /** JSON array of e-mail addresses. */
  emails: string;
  updated_at: number;
}

/** The outbox: one row per alert and target, claimed by the delivery task. */
export interface AlertDeliveryTable {
  id: string;
  alert_id: string;
  /** The vault whose notify targets this delivery came from (its webhook secret signs it). */
  settings_vault: string;
  channel: 'webhook' | 'email';
  /** The webhook URL or e-mail address. */
  target: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: number;
  /** Who holds the delivery while sending, and until when (another instance may take it after). */
  claim: string | null;
  claimed_until: number | null;
  last_error: string | null;
  last_attempt_at: number | null;
  delivered_at: number | null;
  created_at: number;
}

export interface PolicyTable {
  id: string;
  vault_id: string;
  name: string;
  /** JSON of the PolicySpec (schedule and retention). */
  spec: string;
  created_at: number;
  updated_at: number;
}

export interface ItemTable {
  id: string;
  vault_id: string;
  agent_id: string;
  name: string;
  /** The paths and excludes, sealed with the agent's keyring (base64); null: never given. */
  sources: string | null;
  policy_id: string | null;
  /** When the scheduler queues the next backup; null without a policy. */
  next_slot_at: number | null;
  /** The last slot a backup was queued for; a clock going back never repeats it. */
  last_slot_at: number | null;
  created_at: number;
  updated_at: number;
  /** When protection was stopped (no schedule; agents may not give it a policy again). */
  stopped_at?: number | null;
}

export interface JobTable {
  id: string;
  tenant_id: string;
  vault_id: string;
  kind: 'backup' | 'restore' | 'expire' | 'gc' | 'verify' | 'scrub';
  trigger: 'schedule' | 'on-demand' | 'manual';
  state: 'queued' | 'running' | 'succeeded' | 'warnings' | 'failed' | 'cancelled';
  /** The agent that runs it; null for jobs the vault runs itself. */
  agent_id: string | null;
  item_id: string | null;
  point_id: string | null;
  slot_at: number | null;
  /** JSON of the kind's request (a restore's point, paths, target and conflict mode). */
  request: string | null;
  bytes_done: Generated<number>;
  bytes_total: number | null;
  files_done: Generated<number>;
  files_total: number | null;
  /** Bytes per second over the last progress reports. */
  rate: Generated<number>;
  error: string | null;
  /** JSON array of the first warnings ({path, message}). */
  warnings: string | null;
  warning_count: Generated<number>;
  /** JSON object of the kind's outcome (counts). */
  result: string | null;
  cancel_requested: Generated<number>;
  created_at: number;
  started_at: number | null;
  heartbeat_at: number | null;
  ended_at: number | null;
}

/** A job as read from the database. */
export type JobRow = Selectable<JobTable>;

export interface Database {
  tenants: TenantTable;
  tokens: TokenTable;
  vaults: VaultTable;
  registrations: RegistrationTable;
  keyrings: KeyringTable;
  agents: AgentTable;
  grants: GrantTable;
  packs: PackTable;
  pending_packs: PendingPackTable;
  blobs: BlobTable;
  keyring_refs: KeyringRefTable;
  points: PointTable;
  settings: SettingTable;
  audit_chains: AuditChainTable;
  audit_log: AuditLogTable;
  alerts: AlertTable;
  notify_targets: NotifyTargetTable;
  alert_deliveries: AlertDeliveryTable;
  policies: PolicyTable;
  items: ItemTable;
  jobs: JobTable;
}
