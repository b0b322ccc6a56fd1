/**
 * @module audit
 * The audit log: one entry per state-changing call, hash-chained per tenant (docs/audit.md).
 */
import { Type, type Static } from 'typebox';
import { EntityId, HexId, QueryInteger, Timestamp } from './common.js';

/** Who made a call: a tenant user's token, an agent, the service admin, or nobody known. */
export const AuditActor = Type.Object({
  kind: Type.Union([
    Type.Literal('user'),
    Type.Literal('agent'),
    Type.Literal('admin'),
    Type.Literal('anonymous'),
  ]),
  /** The token's id (users, agents, the admin). */
  tokenId: Type.Optional(EntityId),
  /** The agent's id (agents, and a machine that registered with vault credentials). */
  agentId: Type.Optional(EntityId),
  /** The user token's or the agent's name. */
  name: Type.Optional(Type.String()),
});
export type AuditActor = Static<typeof AuditActor>;

export const AuditEntry = Type.Object({
  /** Position in its chain, from 1, without gaps. */
  seq: Type.Integer({ minimum: 1 }),
  at: Timestamp,
  actor: AuditActor,
  /** A short name of what was done, e.g. `token.create`. */
  action: Type.String(),
  method: Type.String(),
  /** The route's pattern, e.g. `/v1/vaults/:vault/credentials`. */
  route: Type.String(),
  /** The route's parameters: which vault, agent, item, point… */
  resource: Type.Record(Type.String(), Type.String()),
  vaultId: Type.Optional(EntityId),
  /** The caller's IP address as the vault saw it. */
  address: Type.String(),
  /** The HTTP status answered. */
  status: Type.Integer(),
  /** The error code answered, for refusals and failures. */
  error: Type.Optional(Type.String()),
  /** SHA-256 of the previous entry's hash and this entry's canonical encoding, hex. */
  hash: HexId,
});
export type AuditEntry = Static<typeof AuditEntry>;

/** Most entries one page carries. */
export const MAX_AUDIT_PAGE = 1000;

export const AuditQuery = Type.Object(
  {
    /** Only entries recorded at or after this time. */
    since: Type.Optional(Timestamp),
    /** Only entries after this sequence number (the previous page's `next`). */
    after: Type.Optional(QueryInteger),
    /** At most this many entries (1 to MAX_AUDIT_PAGE). */
    limit: Type.Optional(QueryInteger),
    /** Service admin only: read this tenant's chain instead of the service chain. */
    tenant: Type.Optional(EntityId),
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

export const AuditList = Type.Object({
  /** The chain read: a tenant id, or `service` for calls without a tenant. */
  chain: Type.String(),
  entries: Type.Array(AuditEntry),
  /** Pass as `after` to read the next page; absent on the last page. */
  next: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type AuditList = Static<typeof AuditList>;

/** The first thing wrong with a chain. */
export const AuditProblem = Type.Object({
  /** The entry named (the first one that does not check out). */
  seq: Type.Integer({ minimum: 0 }),
  kind: Type.Union([
    Type.Literal('edited'),
    Type.Literal('deleted'),
    Type.Literal('inserted'),
    Type.Literal('head'),
  ]),
  message: Type.String(),
});
export type AuditProblem = Static<typeof AuditProblem>;

export const AuditChainReport = Type.Object({
  chain: Type.String(),
  /** Entries checked. */
  entries: Type.Integer({ minimum: 0 }),
  /** The chain head when verification started: its last sequence number and hash. */
  headSeq: Type.Integer({ minimum: 0 }),
  headHash: HexId,
  ok: Type.Boolean(),
  problem: Type.Optional(AuditProblem),
});
export type AuditChainReport = Static<typeof AuditChainReport>;

export const AuditVerifyResponse = Type.Object({
  ok: Type.Boolean(),
  chains: Type.Array(AuditChainReport),
});
export type AuditVerifyResponse = Static<typeof AuditVerifyResponse>;
