/**
 * @module items
 * Protected items: a named set of paths on one agent, with the policy that schedules its
 * backups. The paths are sealed with the agent's keyring (docs/format.md, "Item sources"):
 * the vault stores them but cannot read them.
 */
import { Type, type Static } from 'typebox';
import { EntityId, HexId, Name, Timestamp } from './common.js';
import { Job, JobState } from './jobs.js';

/** Largest sealed sources value (base64); the request stays within BODY_LIMITS.json. */
export const MAX_SEALED_SOURCES = 48 * 1024;

/** Sealed {paths, excludes}: base64 of the id (32 bytes) followed by the sealed blob. */
export const SealedSources = Type.String({
  minLength: 1,
  maxLength: MAX_SEALED_SOURCES,
  pattern: '^[A-Za-z0-9+/]+={0,2}$',
});

/** How an item's protection is doing, from its last finished backup job. */
export const ItemHealth = Type.Union([
  Type.Literal('ok'),
  Type.Literal('warnings'),
  Type.Literal('failed'),
  Type.Literal('none'),
]);
export type ItemHealth = Static<typeof ItemHealth>;

export const Item = Type.Object({
  id: EntityId,
  vaultId: EntityId,
  agentId: EntityId,
  name: Name,
  /** Absent for items known only from manual backups, whose paths the vault never got. */
  sources: Type.Optional(SealedSources),
  policyId: Type.Optional(EntityId),
  policy: Type.Optional(Name),
  /** When the vault queues the next scheduled backup. */
  nextRunAt: Type.Optional(Timestamp),
  lastPoint: Type.Optional(Type.Object({ id: HexId, at: Timestamp })),
  lastJob: Type.Optional(
    Type.Object({ id: EntityId, state: JobState, endedAt: Type.Optional(Timestamp) }),
  ),
  health: ItemHealth,
  agentOnline: Type.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Item = Static<typeof Item>;
export const ItemList = Type.Object({ items: Type.Array(Item) });
export type ItemList = Static<typeof ItemList>;

/** `coffer protect` on the agent: creates the item, or replaces its paths. */
export const ProtectRequest = Type.Object(
  {
    name: Name,
    sources: SealedSources,
    /** A policy of the agent's vault, by id or name; may be set only while the item has none. */
    policy: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false },
);
export type ProtectRequest = Static<typeof ProtectRequest>;

/** A tenant user (write role) changes or removes an item's policy. */
export const UpdateItemRequest = Type.Object(
  { policy: Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Null()]) },
  { additionalProperties: false },
);
export type UpdateItemRequest = Static<typeof UpdateItemRequest>;

export const ItemQuery = Type.Object(
  { agent: Type.Optional(EntityId) },
  { additionalProperties: false },
);

/** The answer to "back up now": the new job, or the one already queued or running. */
export const BackupNowResponse = Type.Object({ job: Job, alreadyRunning: Type.Boolean() });
export type BackupNowResponse = Static<typeof BackupNowResponse>;
