/**
 * @module history
 * Soft delete, immutability and the vault's expiry (docs/history.md): vault settings, deleting
 * and undeleting points, stopping protection and running expiry on demand.
 */
import { Type, type Static } from 'typebox';
import { Job } from './jobs.js';

export const Immutability = Type.Union([
  Type.Literal('off'),
  Type.Literal('unlocked'),
  Type.Literal('locked'),
]);
/** off; unlocked (can be turned off again); locked (irreversible). */
export type Immutability = Static<typeof Immutability>;

/** Longest soft-delete period a vault may have, in days. */
export const MAX_SOFT_DELETE_DAYS = 365;
/** Shortest soft-delete period once soft delete is always on (Azure's 14 days). */
export const MIN_ALWAYS_ON_SOFT_DELETE_DAYS = 14;
/** The soft-delete period of a new vault. */
export const DEFAULT_SOFT_DELETE_DAYS = 14;

export const VaultSettings = Type.Object({
  vaultId: Type.String(),
  /** Days a deleted or expired point stays restorable (0: purged at the next expiry run). */
  softDeleteDays: Type.Integer(),
  /** Soft delete cannot be turned off (or below 14 days) again. */
  softDeleteAlwaysOn: Type.Boolean(),
  immutability: Immutability,
});
export type VaultSettings = Static<typeof VaultSettings>;

export const VaultSettingsRequest = Type.Object(
  {
    softDeleteDays: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_SOFT_DELETE_DAYS })),
    /** Only `true`: always-on cannot be turned off. */
    softDeleteAlwaysOn: Type.Optional(Type.Literal(true)),
    immutability: Type.Optional(Immutability),
  },
  { additionalProperties: false },
);
export type VaultSettingsRequest = Static<typeof VaultSettingsRequest>;

export const PointDeleteReason = Type.Union([
  Type.Literal('expired'),
  Type.Literal('deleted'),
  Type.Literal('protection-stopped'),
]);
export type PointDeleteReason = Static<typeof PointDeleteReason>;

export const StopProtectionRequest = Type.Object(
  {
    /** Also soft-delete every point of the item (a critical operation). */
    deleteData: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type StopProtectionRequest = Static<typeof StopProtectionRequest>;

export const StopProtectionResponse = Type.Object({
  itemId: Type.String(),
  stoppedAt: Type.String(),
  /** Points soft-deleted by --delete-data. */
  pointsDeleted: Type.Integer(),
});
export type StopProtectionResponse = Static<typeof StopProtectionResponse>;

/** What an expire job did (its `result`). */
export const ExpireResult = Type.Object({
  items: Type.Integer(),
  expired: Type.Integer(),
  purged: Type.Integer(),
});
export type ExpireResult = Static<typeof ExpireResult>;

export const ExpireResponse = Type.Object({ job: Job });
export type ExpireResponse = Static<typeof ExpireResponse>;

/** `?deleted=true` lists soft-deleted points only (with their purge date). */
export const PointListQuery = Type.Object({
  item: Type.Optional(Type.String({ maxLength: 128 })),
  deleted: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
});
export type PointListQuery = Static<typeof PointListQuery>;
