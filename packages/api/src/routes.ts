/**
 * @module routes
 * Every route's path, so the client and the server cannot drift apart.
 * `:name` segments are filled with {@link route}.
 */
export const ROUTES = {
  whoami: '/v1/whoami',
  tenants: '/v1/tenants',
  tokens: '/v1/tokens',
  token: '/v1/tokens/:token',
  vaults: '/v1/vaults',
  vault: '/v1/vaults/:vault',
  vaultCredentials: '/v1/vaults/:vault/credentials',
  vaultAgents: '/v1/vaults/:vault/agents',
  vaultPoints: '/v1/vaults/:vault/points',
  vaultPoint: '/v1/vaults/:vault/points/:point',
  vaultPointUndelete: '/v1/vaults/:vault/points/:point/undelete',
  vaultSettings: '/v1/vaults/:vault/settings',
  vaultExpire: '/v1/vaults/:vault/expire',
  agentGrants: '/v1/vaults/:vault/agents/:agent/grants',
  register: '/v1/register',
  agent: '/v1/agents/:agent',
  agentGrant: '/v1/agents/:agent/grants/:grantee',
  agentKeyring: '/v1/agents/:agent/keyring',
  agentPoints: '/v1/agents/:agent/points',
  agentLocate: '/v1/agents/:agent/blobs/locate',
  agentPack: '/v1/agents/:agent/packs/:pack',
  agentPacks: '/v1/agents/:agent/packs',
  agentPackCheck: '/v1/agents/:agent/packs/:pack/check',
  agentPackRanges: '/v1/agents/:agent/packs/:pack/ranges',
  blobsExist: '/v1/blobs/exists',
  blobsEpoch: '/v1/blobs/epoch',
  packUpload: '/v1/packs/:pack',
  points: '/v1/points',
  audit: '/v1/audit',
  auditVerify: '/v1/audit/verify',
  alerts: '/v1/alerts',
  alertAck: '/v1/alerts/:alert/ack',
  vaultNotify: '/v1/vaults/:vault/notify',
  vaultNotifyTest: '/v1/vaults/:vault/notify/test',
  vaultPolicies: '/v1/vaults/:vault/policies',
  policy: '/v1/policies/:policy',
  vaultItems: '/v1/vaults/:vault/items',
  agentItems: '/v1/agents/:agent/items',
  item: '/v1/items/:item',
  itemBackup: '/v1/items/:item/backup',
  itemStop: '/v1/items/:item/stop',
  agentRestores: '/v1/agents/:agent/restores',
  vaultJobs: '/v1/vaults/:vault/jobs',
  vaultGc: '/v1/vaults/:vault/gc',
  agentJobs: '/v1/agents/:agent/jobs',
  job: '/v1/jobs/:job',
  jobCancel: '/v1/jobs/:job/cancel',
  jobClaim: '/v1/jobs/:job/claim',
  jobProgress: '/v1/jobs/:job/progress',
  jobFinish: '/v1/jobs/:job/finish',
  agentWork: '/v1/agent/work',
} as const;

/** Where the vault describes its API (public: no token needed). */
export const API_DOCS = {
  /** The OpenAPI 3 document generated from the route schemas. */
  openapi: '/api/openapi.json',
  /** The same, readable in a browser. */
  ui: '/api/docs',
} as const;

/** Fills the `:name` segments of a route path, URL-encoding each value. */
export function route(path: string, params: Record<string, string> = {}): string {
  return path.replace(/:([a-z]+)/g, (_, key: string) => {
    const value = params[key];
    if (value === undefined) throw new Error(`route ${path}: missing parameter ${key}`);
    return encodeURIComponent(value);
  });
}

// Limits agents need at run time; here because this module loads without TypeBox.

/** Most ranges of one pack asked for in one request (POST …/packs/:pack/ranges). */
export const MAX_PACK_RANGES = 4096;
/** Most warnings a job keeps; its `warningCount` still counts every one. */
export const MAX_JOB_WARNINGS = 100;
/** Longest an agent's poll for work may wait, in seconds. */
export const MAX_POLL_WAIT_SECONDS = 30;
