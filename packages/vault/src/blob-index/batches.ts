/**
 * @module blob-index/batches
 * How many ids one statement carries: well under SQLite's 32,766 and PostgreSQL's 65,535 bound
 * parameters, and small enough that a batch's rows stay a few hundred kilobytes.
 */

/** Ids per `IN (…)` list. */
export const ID_BATCH = 1000;

/** Rows per multi-row INSERT (six values each). */
export const ROW_BATCH = 400;

/** `items` in consecutive slices of at most `size`. */
export function* slices<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** The 32-byte ids of hex ids, for binding. */
export const idBytes = (hexIds: readonly string[]): Buffer[] =>
  hexIds.map((hex) => Buffer.from(hex, 'hex'));
