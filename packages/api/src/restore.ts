/**
 * @module restore
 * Reads for restore and verify: where blobs are, and ranged pack reads.
 */
import { Type, type Static } from 'typebox';
import { HexId, IdBatch } from './common.js';
import { MAX_PACK_RANGES } from './routes.js';

export const LocateRequest = Type.Object({ ids: IdBatch }, { additionalProperties: false });
export const BlobLocation = Type.Object({
  id: HexId,
  pack: HexId,
  offset: Type.Integer({ minimum: 0 }),
  length: Type.Integer({ minimum: 1 }),
  type: Type.Integer({ minimum: 1, maximum: 3 }),
});
export type BlobLocation = Static<typeof BlobLocation>;
export const LocateResponse = Type.Object({
  locations: Type.Array(BlobLocation),
  missing: Type.Array(HexId),
});
export type LocateResponse = Static<typeof LocateResponse>;

/**
 * Several ranges of one pack, each `[offset, length]`: the answer is their bytes one after the
 * other, in the order asked. Small blobs far apart (a point's trees between its files' data)
 * come in one request instead of one each or a read through everything between them.
 */
export const PackRangesRequest = Type.Object(
  {
    ranges: Type.Array(Type.Tuple([Type.Integer({ minimum: 0 }), Type.Integer({ minimum: 1 })]), {
      minItems: 1,
      maxItems: MAX_PACK_RANGES,
    }),
  },
  { additionalProperties: false },
);
export type PackRangesRequest = Static<typeof PackRangesRequest>;

export const PackInfo = Type.Object({ name: HexId, size: Type.Integer({ minimum: 0 }) });
export const PackList = Type.Object({ packs: Type.Array(PackInfo) });
export type PackList = Static<typeof PackList>;

/** What the vault found when it re-hashed a pack an agent reported (POST …/packs/:pack/check). */
export const PackCheckResponse = Type.Object({
  name: HexId,
  state: Type.Union([Type.Literal('ok'), Type.Literal('missing'), Type.Literal('damaged')]),
});
export type PackCheckResponse = Static<typeof PackCheckResponse>;
