/**
 * @module client/vault-client
 * Typed calls to the vault's HTTP API (packages/api), over TLS pinned to the vault's
 * certificate. Transient failures (connection errors, 5xx) of idempotent calls are retried.
 */
import type {
  AgentList,
  Alert,
  AlertList,
  AlertState,
  AuditList,
  AuditVerifyResponse,
  BlobsEpoch,
  NotifySettings,
  NotifyTestResult,
  SetNotifyRequest,
  BackupNowResponse,
  GcRunResponse,
  CommitPointRequest,
  CreateTenantResponse,
  CreateTokenResponse,
  ErrorBody,
  ExistsResponse,
  FinishRequest,
  Item,
  ItemList,
  Job,
  JobList,
  JobQuery,
  KeyringResponse,
  LocateResponse,
  PackCheckResponse,
  ManualJobRequest,
  PackList,
  PackUploadResponse,
  Point,
  PointList,
  ExpireResponse,
  StopProtectionResponse,
  VaultSettings,
  VaultSettingsRequest,
  RegisterRequest,
  Policy,
  PolicyList,
  PolicySpec,
  ProgressAnswer,
  ProgressReport,
  ProtectRequest,
  RegisterResponse,
  RestoreRequest,
  Role,
  TenantList,
  TokenList,
  Vault,
  VaultCredentials,
  VaultList,
  WhoAmI,
  Work,
} from '@coffer/api';
// Only the route table at run time: the schemas (and TypeBox) take a tenth of a second to load.
import { ROUTES, route } from '@coffer/api/routes';
import { CofferError } from '@coffer/core';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Agent, Dispatcher } from 'undici';
import { CertificateMismatchError, pinnedDispatcher } from './pinned-dispatcher.js';

/** An error answer from the vault, with its wire code and HTTP status. */
export class VaultError extends CofferError {
  readonly status: number;
  readonly missing: string[] | undefined;
  constructor(status: number, code: string, message: string, missing?: string[]) {
    // A full vault stays full on a retry; only overload and server faults are worth one.
    super(code, message, {
      transient: (status >= 500 && code !== 'STORAGE_FULL') || status === 429,
    });
    this.status = status;
    this.missing = missing;
  }
}

/** Methods that HTTP defines as safe to repeat; a POST is retried only when marked so. */
const IDEMPOTENT = new Set<string>(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/**
 * Whether a failed call surely had no effect, so even a POST that creates something may be
 * sent again: the vault shed it (429, 503) or the connection was never made.
 */
function unprocessed(error: CofferError): boolean {
  if (error instanceof VaultError) return error.status === 429 || error.status === 503;
  const cause = (error.cause as { code?: string; cause?: { code?: string } } | undefined) ?? {};
  return (cause.code ?? cause.cause?.code) === 'ECONNREFUSED';
}

/** The vault could not be reached. */
export class VaultUnreachableError extends CofferError {
  constructor(url: string, cause: unknown) {
    super(
      'VAULT_UNREACHABLE',
      `cannot reach the vault at ${url} (${(cause as Error).message}); is it running?`,
      { cause, transient: true },
    );
  }
}

export interface VaultClientOptions {
  url: string;
  fingerprint: string;
  token?: string;
  /** Attempts for transient failures, default 4. */
  attempts?: number;
}

type Body = string | Buffer | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
type WireBody = string | Buffer | Readable;

/** A client of one vault; one instance keeps a pool of connections. */
export class VaultClient {
  private readonly dispatcher: Agent;
  private readonly origin: string;
  private readonly attempts: number;

  constructor(private readonly options: VaultClientOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'https:') throw new CofferError('BAD_URL', `${options.url}: use https://`);
    this.origin = url.origin;
    this.dispatcher = pinnedDispatcher(options.fingerprint);
    this.attempts = options.attempts ?? 4;
  }

  /** Closes the connections. */
  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async send(
    method: Dispatcher.HttpMethod,
    path: string,
    options: {
      json?: unknown;
      body?: () => Body;
      length?: number;
      headers?: Record<string, string>;
      /** Give up waiting for the answer after this long (default 5 minutes). */
      timeoutMs?: number;
      signal?: AbortSignal;
      /** Attempts for transient failures, instead of the client's. */
      attempts?: number;
      /** A POST that may run twice with the same effect (a query, a content-addressed commit). */
      idempotent?: boolean;
    } = {},
  ): Promise<Dispatcher.ResponseData> {
    const attempts = options.attempts ?? this.attempts;
    const timeout = options.timeoutMs ?? 300_000;
    const headers: Record<string, string> = { ...options.headers };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    let body: WireBody | undefined;
    for (let attempt = 1; ; attempt++) {
      if (options.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(options.json);
      } else if (options.body) {
        headers['content-type'] = 'application/octet-stream';
        if (options.length !== undefined) headers['content-length'] = String(options.length);
        const source = options.body();
        body =
          typeof source === 'string' || Buffer.isBuffer(source) ? source : Readable.from(source);
      }
      let error: CofferError;
      try {
        const response = await this.dispatcher.request({
          origin: this.origin,
          path,
          method,
          headers,
          body: body ?? null,
          headersTimeout: timeout,
          bodyTimeout: timeout,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        if (response.statusCode < 400) return response;
        const text = await response.body.text();
        let parsed: ErrorBody['error'] | undefined;
        try {
          parsed = (JSON.parse(text) as ErrorBody).error;
        } catch {
          parsed = undefined;
        }
        error = new VaultError(
          response.statusCode,
          parsed?.code ?? `HTTP_${response.statusCode}`,
          parsed?.message ?? `${method} ${path}: HTTP ${response.statusCode}`,
          parsed?.missing,
        );
      } catch (cause) {
        if (cause instanceof CertificateMismatchError) throw cause;
        const inner = (cause as { cause?: unknown }).cause;
        if (inner instanceof CertificateMismatchError) throw inner;
        error =
          cause instanceof CofferError ? cause : new VaultUnreachableError(this.origin, cause);
      }
      const retryable =
        error.transient && (options.idempotent || IDEMPOTENT.has(method) || unprocessed(error));
      if (!retryable || attempt >= attempts || options.signal?.aborted) throw error;
      await sleep(200 * 2 ** attempt);
    }
  }

  private async json<T>(
    method: Dispatcher.HttpMethod,
    path: string,
    payload?: unknown,
    options: { idempotent?: boolean } = {},
  ): Promise<T> {
    return this.call<T>(
      method,
      path,
      payload === undefined ? options : { ...options, json: payload },
    );
  }

  private async call<T>(
    method: Dispatcher.HttpMethod,
    path: string,
    options: Parameters<VaultClient['send']>[2],
  ): Promise<T> {
    const response = await this.send(method, path, options);
    if (response.statusCode === 204) {
      await response.body.dump();
      return undefined as T;
    }
    return (await response.body.json()) as T;
  }

  /** Who the token is. */
  whoami(): Promise<WhoAmI> {
    return this.json('GET', ROUTES.whoami);
  }

  /** Service admin: creates a tenant and returns its owner token. */
  createTenant(name: string): Promise<CreateTenantResponse> {
    return this.json('POST', ROUTES.tenants, { name });
  }

  /** Tenant owner: creates a user token with a role, valid for `expiresInSeconds` or until revoked. */
  createToken(name: string, role: Role, expiresInSeconds?: number): Promise<CreateTokenResponse> {
    return this.json('POST', ROUTES.tokens, {
      name,
      role,
      ...(expiresInSeconds === undefined ? {} : { expiresInSeconds }),
    });
  }

  /** Tenant user: creates a vault. */
  createVault(name: string): Promise<Vault> {
    return this.json('POST', ROUTES.vaults, { name });
  }

  /** Tenant user: lists the tenant's vaults. */
  listVaults(): Promise<VaultList> {
    return this.json('GET', ROUTES.vaults);
  }

  /** Tenant user: a 48-hour registration file for one machine (which may join `joinKeyring`). */
  createCredentials(vaultId: string, joinKeyring?: string): Promise<VaultCredentials> {
    const path = route(ROUTES.vaultCredentials, { vault: vaultId });
    return joinKeyring === undefined
      ? this.json('POST', path)
      : this.json('POST', path, { joinKeyring });
  }

  /** Tenant user: the agents registered in a vault. */
  listAgents(vaultId: string): Promise<AgentList> {
    return this.json('GET', route(ROUTES.vaultAgents, { vault: vaultId }));
  }

  /** Tenant user: the points of every agent in a vault. */
  listVaultPoints(vaultId: string): Promise<PointList> {
    return this.json('GET', route(ROUTES.vaultPoints, { vault: vaultId }));
  }

  /** Tenant user: lets agent `grantee` read agent `agentId`'s points. */
  grant(vaultId: string, agentId: string, grantee: string): Promise<void> {
    return this.json('POST', route(ROUTES.agentGrants, { vault: vaultId, agent: agentId }), {
      grantee,
    });
  }

  /** Service admin: every tenant. */
  listTenants(): Promise<TenantList> {
    return this.json('GET', ROUTES.tenants);
  }

  /** Tenant owner: the tenant's user tokens (revoked ones too, never the secrets). */
  listTokens(): Promise<TokenList> {
    return this.json('GET', ROUTES.tokens);
  }

  /** Tenant owner: revokes a user token; it stops working at once. */
  revokeToken(tokenId: string): Promise<void> {
    return this.json('DELETE', route(ROUTES.token, { token: tokenId }));
  }

  /** Tenant user: removes a machine; its token stops working, its points stay. */
  removeAgent(agentId: string): Promise<void> {
    return this.json('DELETE', route(ROUTES.agent, { agent: agentId }));
  }

  /** Tenant user: takes back what `grant` allowed. */
  revokeGrant(agentId: string, grantee: string): Promise<void> {
    return this.json('DELETE', route(ROUTES.agentGrant, { agent: agentId, grantee }));
  }

  /** Tenant owner: deletes a vault that holds no points and no registered machine. */
  deleteVault(vaultId: string): Promise<void> {
    return this.json('DELETE', route(ROUTES.vault, { vault: vaultId }));
  }

  /** Registers this machine with a one-time secret. */
  register(body: RegisterRequest): Promise<RegisterResponse> {
    return this.json('POST', ROUTES.register, body);
  }

  /** The wrapped keyring of an agent (own or granted). */
  keyring(agentId: string): Promise<KeyringResponse> {
    return this.json('GET', route(ROUTES.agentKeyring, { agent: agentId }));
  }

  /** Recovery points of an agent, oldest first. */
  points(agentId: string, item?: string): Promise<PointList> {
    const query = item === undefined ? '' : `?item=${encodeURIComponent(item)}`;
    return this.json('GET', route(ROUTES.agentPoints, { agent: agentId }) + query);
  }

  /** Which of `ids` (hex) the vault does not hold. */
  async missing(ids: string[]): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i += 10_000) {
      const r = await this.json<ExistsResponse>(
        'POST',
        ROUTES.blobsExist,
        { ids: ids.slice(i, i + 10_000) },
        { idempotent: true },
      );
      out.push(...r.missing);
    }
    return out;
  }

  /**
   * The keyring's loss epoch (see BlobsEpoch), or undefined from a vault too old to tell; the
   * vault first confirms its pack files are there.
   */
  async blobsEpoch(): Promise<number | undefined> {
    try {
      return (await this.json<BlobsEpoch>('GET', ROUTES.blobsEpoch)).epoch;
    } catch (error) {
      if (error instanceof VaultError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** Uploads one pack; `chunks` is called again on a retry. */
  async uploadPack(name: string, size: number, chunks: () => Body): Promise<PackUploadResponse> {
    const response = await this.send('PUT', route(ROUTES.packUpload, { pack: name }), {
      body: chunks,
      length: size,
    });
    return (await response.body.json()) as PackUploadResponse;
  }

  /** Commits a recovery point; the vault checks its closure first. */
  commitPoint(body: CommitPointRequest): Promise<Point> {
    // A point's id is its manifest's: committing it again answers the point committed.
    return this.json('POST', ROUTES.points, body, { idempotent: true });
  }

  /** Where blobs of an agent's keyring are stored. */
  async locate(agentId: string, ids: string[]): Promise<LocateResponse> {
    const out: LocateResponse = { locations: [], missing: [] };
    for (let i = 0; i < ids.length; i += 10_000) {
      const r = await this.json<LocateResponse>(
        'POST',
        route(ROUTES.agentLocate, { agent: agentId }),
        { ids: ids.slice(i, i + 10_000) },
        { idempotent: true },
      );
      out.locations.push(...r.locations);
      out.missing.push(...r.missing);
    }
    return out;
  }

  /** The packs of an agent's keyring. */
  packs(agentId: string): Promise<PackList> {
    return this.json('GET', route(ROUTES.agentPacks, { agent: agentId }));
  }

  /** Streams a whole pack (to check it against its name); the caller reads the body to its end. */
  async readPack(agentId: string, pack: string): Promise<AsyncIterable<Buffer>> {
    const response = await this.send('GET', route(ROUTES.agentPack, { agent: agentId, pack }));
    return response.body as AsyncIterable<Buffer>;
  }

  /** Reports a pack that read as missing or damaged; the vault re-hashes it and says what it found. */
  checkPack(agentId: string, pack: string): Promise<PackCheckResponse> {
    return this.json('POST', route(ROUTES.agentPackCheck, { agent: agentId, pack }), undefined, {
      idempotent: true,
    });
  }

  /** Exactly `length` bytes of a pack from `offset`. */
  async readRange(agentId: string, pack: string, offset: number, length: number): Promise<Buffer> {
    const response = await this.send('GET', route(ROUTES.agentPack, { agent: agentId, pack }), {
      headers: { range: `bytes=${offset}-${offset + length - 1}` },
    });
    const bytes = Buffer.from(await response.body.arrayBuffer());
    if (bytes.length !== length) {
      throw new CofferError(
        'SHORT_READ',
        `pack ${pack}: asked for ${length} bytes at ${offset}, got ${bytes.length}`,
        { transient: true },
      );
    }
    return bytes;
  }

  /**
   * The bytes of several ranges (`[offset, length]`) of one pack, one after the other, in one
   * request: blobs far apart without the bytes between them.
   */
  async readRanges(
    agentId: string,
    pack: string,
    ranges: [offset: number, length: number][],
  ): Promise<Buffer> {
    const response = await this.send(
      'POST',
      route(ROUTES.agentPackRanges, { agent: agentId, pack }),
      { json: { ranges }, idempotent: true },
    );
    const bytes = Buffer.from(await response.body.arrayBuffer());
    const length = ranges.reduce((sum, [, n]) => sum + n, 0);
    if (bytes.length !== length) {
      throw new CofferError(
        'SHORT_READ',
        `pack ${pack}: asked for ${length} bytes in ${ranges.length} ranges, got ${bytes.length}`,
        { transient: true },
      );
    }
    return bytes;
  }

  /** Tenant owner or service admin: one page of the audit log (oldest first). */
  auditLog(
    query: { since?: string; after?: number; limit?: number; tenant?: string } = {},
  ): Promise<AuditList> {
    return this.json('GET', ROUTES.audit + queryString(query));
  }

  /** Tenant owner (its chain) or service admin (every chain): recomputes the audit chains. */
  verifyAudit(): Promise<AuditVerifyResponse> {
    return this.json('GET', ROUTES.auditVerify);
  }

  /** Tenant user: alerts, newest first, with their deliveries. */
  alerts(query: { state?: AlertState; vault?: string; limit?: number } = {}): Promise<AlertList> {
    return this.json('GET', ROUTES.alerts + queryString(query));
  }

  /** Tenant operator or above: acknowledges an open alert. */
  ackAlert(alertId: string): Promise<Alert> {
    return this.json('POST', route(ROUTES.alertAck, { alert: alertId }));
  }

  /** Tenant user: a vault's notification targets. */
  notifySettings(vaultId: string): Promise<NotifySettings> {
    return this.json('GET', route(ROUTES.vaultNotify, { vault: vaultId }));
  }

  /** Tenant contributor or above: changes a vault's notification targets. */
  setNotify(vaultId: string, change: SetNotifyRequest): Promise<NotifySettings> {
    return this.json('PUT', route(ROUTES.vaultNotify, { vault: vaultId }), change);
  }

  /** Tenant contributor or above: sends a test notification to each target now. */
  testNotify(vaultId: string): Promise<NotifyTestResult> {
    return this.json('POST', route(ROUTES.vaultNotifyTest, { vault: vaultId }));
  }

  /** Tenant user: the policies of a vault. */
  listPolicies(vaultId: string): Promise<PolicyList> {
    return this.json('GET', route(ROUTES.vaultPolicies, { vault: vaultId }));
  }

  /** Tenant user (write): creates a policy. */
  createPolicy(vaultId: string, name: string, spec: PolicySpec): Promise<Policy> {
    return this.json('POST', route(ROUTES.vaultPolicies, { vault: vaultId }), { name, spec });
  }

  /** A policy by id. */
  policy(policyId: string): Promise<Policy> {
    return this.json('GET', route(ROUTES.policy, { policy: policyId }));
  }

  /** Tenant user (write): replaces a policy's schedule and retention. */
  updatePolicy(policyId: string, spec: PolicySpec): Promise<Policy> {
    return this.json('PUT', route(ROUTES.policy, { policy: policyId }), { spec });
  }

  /** Tenant user (write): deletes a policy no item uses. */
  deletePolicy(policyId: string): Promise<void> {
    return this.json('DELETE', route(ROUTES.policy, { policy: policyId }));
  }

  /** Tenant user: the items of a vault (of one agent, with `agentId`). */
  vaultItems(vaultId: string, agentId?: string): Promise<ItemList> {
    const query = agentId === undefined ? '' : `?agent=${encodeURIComponent(agentId)}`;
    return this.json('GET', route(ROUTES.vaultItems, { vault: vaultId }) + query);
  }

  /** The items of an agent (the agent itself, or a tenant user). */
  agentItems(agentId: string): Promise<ItemList> {
    return this.json('GET', route(ROUTES.agentItems, { agent: agentId }));
  }

  /** The agent itself: creates its item or replaces its sealed paths. */
  protect(agentId: string, body: ProtectRequest): Promise<Item> {
    return this.json('POST', route(ROUTES.agentItems, { agent: agentId }), body);
  }

  /** An item by id. */
  item(itemId: string): Promise<Item> {
    return this.json('GET', route(ROUTES.item, { item: itemId }));
  }

  /** Gives an item a policy (id or name), or removes it with null. */
  setItemPolicy(itemId: string, policy: string | null): Promise<Item> {
    return this.json('PATCH', route(ROUTES.item, { item: itemId }), { policy });
  }

  /** Queues a backup of an item now (or answers with the one already queued or running). */
  backupNow(itemId: string): Promise<BackupNowResponse> {
    return this.json('POST', route(ROUTES.itemBackup, { item: itemId }));
  }

  /** Tenant user (operate): queues a garbage collection of a vault (or finds the active one). */
  runGc(vaultId: string): Promise<GcRunResponse> {
    return this.json('POST', route(ROUTES.vaultGc, { vault: vaultId }));
  }

  /** Tenant user (operate): queues a restore on an agent's machine. */
  requestRestore(agentId: string, request: RestoreRequest): Promise<Job> {
    return this.json('POST', route(ROUTES.agentRestores, { agent: agentId }), request);
  }

  /** Jobs of a vault, newest first. */
  vaultJobs(vaultId: string, query: JobQuery = {}): Promise<JobList> {
    return this.json('GET', route(ROUTES.vaultJobs, { vault: vaultId }) + queryString(query));
  }

  /** Jobs of an agent, newest first. */
  agentJobs(agentId: string, query: JobQuery = {}): Promise<JobList> {
    return this.json('GET', route(ROUTES.agentJobs, { agent: agentId }) + queryString(query));
  }

  /** A job by id. */
  job(jobId: string): Promise<Job> {
    return this.json('GET', route(ROUTES.job, { job: jobId }));
  }

  /** Cancels a job: at once when queued, at the runner's next report when running. */
  cancelJob(jobId: string): Promise<Job> {
    return this.json('POST', route(ROUTES.jobCancel, { job: jobId }));
  }

  /** The agent itself: records a backup or restore it starts on its own (a running job). */
  startManualJob(agentId: string, request: ManualJobRequest): Promise<Job> {
    return this.json('POST', route(ROUTES.agentJobs, { agent: agentId }), request);
  }

  /** The agent: waits up to `query.wait` seconds for queued jobs; records its contact. */
  pollWork(
    query: { wait: number; want: number; version: string },
    signal?: AbortSignal,
  ): Promise<Work> {
    return this.call('GET', ROUTES.agentWork + queryString(query), {
      timeoutMs: (query.wait + 15) * 1000,
      attempts: 1,
      ...(signal ? { signal } : {}),
    });
  }

  /** The agent: takes a queued job (it is then running). */
  claimJob(jobId: string): Promise<Job> {
    return this.json('POST', route(ROUTES.jobClaim, { job: jobId }));
  }

  /** The agent: reports a running job's progress; the answer says whether to cancel. */
  reportProgress(jobId: string, report: ProgressReport): Promise<ProgressAnswer> {
    return this.call('POST', route(ROUTES.jobProgress, { job: jobId }), {
      json: report,
      attempts: 1,
      timeoutMs: 30_000,
    });
  }

  /** The agent: ends a running job with its outcome. */
  finishJob(jobId: string, outcome: FinishRequest): Promise<Job> {
    return this.json('POST', route(ROUTES.jobFinish, { job: jobId }), outcome);
  }

  /** Soft-deleted points of an agent (own, or granted), with their purge dates. */
  deletedPoints(agentId: string, item?: string): Promise<PointList> {
    const query = queryString({ item, deleted: 'true' });
    return this.json('GET', route(ROUTES.agentPoints, { agent: agentId }) + query);
  }

  /** Tenant user: soft-deleted points of a vault, with their purge dates. */
  deletedVaultPoints(vaultId: string, item?: string): Promise<PointList> {
    const query = queryString({ item, deleted: 'true' });
    return this.json('GET', route(ROUTES.vaultPoints, { vault: vaultId }) + query);
  }

  /** Tenant user: soft-deletes a point (restorable until its purge date). */
  deletePoint(vaultId: string, pointId: string): Promise<Point> {
    return this.json('DELETE', route(ROUTES.vaultPoint, { vault: vaultId, point: pointId }));
  }

  /** Tenant user: brings a soft-deleted point back. */
  undeletePoint(vaultId: string, pointId: string): Promise<Point> {
    return this.json('POST', route(ROUTES.vaultPointUndelete, { vault: vaultId, point: pointId }));
  }

  /** A vault's soft-delete and immutability settings. */
  vaultSettings(vaultId: string): Promise<VaultSettings> {
    return this.json('GET', route(ROUTES.vaultSettings, { vault: vaultId }));
  }

  /** Tenant owner (or service admin): changes a vault's soft-delete and immutability settings. */
  setVaultSettings(vaultId: string, change: VaultSettingsRequest): Promise<VaultSettings> {
    return this.json('PATCH', route(ROUTES.vaultSettings, { vault: vaultId }), change);
  }

  /** Tenant user: queues the vault's expiry now. */
  expireNow(vaultId: string): Promise<ExpireResponse> {
    return this.json('POST', route(ROUTES.vaultExpire, { vault: vaultId }));
  }

  /** Tenant user: stops an item's protection (and with `deleteData`, soft-deletes its points). */
  stopProtection(itemId: string, deleteData: boolean): Promise<StopProtectionResponse> {
    return this.json('POST', route(ROUTES.itemStop, { item: itemId }), { deleteData });
  }
}

/** `?a=1&b=x` of the defined values, or the empty string. */
function queryString(query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.set(key, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}
