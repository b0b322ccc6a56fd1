/**
 * @module common
 * Small schemas used by several routes.
 */
import { Type } from 'typebox';

/** A blob id, manifest id or pack name: 64 lowercase hex digits. */
export const HexId = Type.String({ pattern: '^[0-9a-f]{64}$' });
/** Server-made ids of tenants, vaults, agents and the like. */
export const EntityId = Type.String({ pattern: '^[a-z]{1,4}_[0-9a-f]{16,32}$' });
/** A user-given name of a tenant, vault, machine or protected item. */
export const Name = Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\x00-\\x1f/]+$' });
/** Most ids one batched request may carry. */
export const MAX_BATCH_IDS = 10_000;
export const IdBatch = Type.Array(HexId, { maxItems: MAX_BATCH_IDS });
export const Timestamp = Type.String({ format: 'date-time' });
/** A non-negative integer in a query string (query values are text; the vault does not coerce). */
export const QueryInteger = Type.String({ pattern: '^[0-9]{1,15}$' });
