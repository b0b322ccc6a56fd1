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
/**
 * Largest JSON bodies the vault reads, in bytes: most routes take a few names, a batch of
 * {@link MAX_BATCH_IDS} ids is about 670 KB, a registration carries a keyring of at most 64 KiB
 * (escaped in a JSON string) and a signature.
 */
export const BODY_LIMITS = { json: 64 * 1024, idBatch: 1024 * 1024, register: 160 * 1024 } as const;
export const Timestamp = Type.String({ format: 'date-time' });
/** A non-negative integer in a query string (query values are text; the vault does not coerce). */
export const QueryInteger = Type.String({ pattern: '^[0-9]{1,15}$' });
