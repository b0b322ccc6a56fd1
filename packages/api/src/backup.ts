/**
 * @module backup
 * The backup protocol of DESIGN.md §4: which ids are stored, pack upload, commit.
 */
import { Type, type Static } from 'typebox';
import { EntityId, HexId, IdBatch, Name, Timestamp } from './common.js';
import { JoinKey } from './tenancy.js';

export const ExistsRequest = Type.Object({ ids: IdBatch }, { additionalProperties: false });
/** The ids of the request that the vault does not hold, in request order. */
export const ExistsResponse = Type.Object({ missing: Type.Array(HexId) });
export type ExistsResponse = Static<typeof ExistsResponse>;

/**
 * A number that changes whenever the vault loses, condemns or finds unreadable any blob of the
 * agent's keyring: while it stays the same, every id the vault said it held is still held.
 */
export const BlobsEpoch = Type.Object({ epoch: Type.Integer({ minimum: 0 }) });
export type BlobsEpoch = Static<typeof BlobsEpoch>;

export const PackUploadResponse = Type.Object({
  name: HexId,
  blobs: Type.Integer({ minimum: 0 }),
  size: Type.Integer({ minimum: 0 }),
  /** False when the vault already held this pack. */
  created: Type.Boolean(),
});
export type PackUploadResponse = Static<typeof PackUploadResponse>;

/** Largest pack the vault accepts in one upload. */
export const MAX_PACK_UPLOAD = 512 * 1024 * 1024;

const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

export const PointStats = Type.Object({
  files: Count,
  directories: Count,
  otherEntries: Count,
  bytes: Count,
  newFiles: Count,
  changedFiles: Count,
  unchangedFiles: Count,
  addedBytes: Count,
  storedBytes: Count,
  warnings: Count,
});
export type PointStats = Static<typeof PointStats>;

export const CommitPointRequest = Type.Object(
  {
    item: Name,
    manifest: HexId,
    parent: Type.Optional(HexId),
    hostname: Type.String({ maxLength: 255 }),
    startTime: Timestamp,
    endTime: Timestamp,
    stats: PointStats,
    /** The keyring's join public key; the vault keeps it if it has none yet (format.md §3.2). */
    joinKey: Type.Optional(JoinKey),
  },
  { additionalProperties: false },
);
export type CommitPointRequest = Static<typeof CommitPointRequest>;

/** A recovery point as the vault knows it: no names, no keys, only what DESIGN.md §2 allows. */
export const Point = Type.Object({
  id: HexId,
  vaultId: EntityId,
  agentId: EntityId,
  keyringId: Type.String(),
  item: Name,
  parent: Type.Optional(HexId),
  hostname: Type.String(),
  startTime: Timestamp,
  endTime: Timestamp,
  createdAt: Timestamp,
  stats: PointStats,
  /** Soft-deleted points only (docs/history.md): when, why, and when the row is purged. */
  deletedAt: Type.Optional(Timestamp),
  purgeAt: Type.Optional(Timestamp),
  deleteReason: Type.Optional(
    Type.Union([
      Type.Literal('expired'),
      Type.Literal('deleted'),
      Type.Literal('protection-stopped'),
    ]),
  ),
});
export type Point = Static<typeof Point>;
export const PointList = Type.Object({ points: Type.Array(Point) });
export type PointList = Static<typeof PointList>;
