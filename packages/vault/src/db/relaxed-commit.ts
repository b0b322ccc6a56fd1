/**
 * @module db/relaxed-commit
 * Transactions whose commit does not wait for the disk, for records a power cut may take but a
 * crash of the vault may not: job heartbeats and the audit entries of calls that only read.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Dialect } from './migrations/context.js';
import type { Database } from './schema.js';

/**
 * Runs `fn` in a transaction that commits without waiting for the disk. Everything else the
 * vault writes waits (SQLite `synchronous = FULL`): on this machine's disk that is 5–20 ms
 * per commit, and SQLite's wait blocks the vault's one thread, so a heartbeat a second during
 * a backup, or an audit entry per locate batch during a restore, stalled every upload and
 * read in flight.
 *
 * - SQLite (WAL): `synchronous = NORMAL` for this transaction only. The commit is in the WAL
 *   when this returns, so a killed vault keeps it; a power cut can lose it, and only it and
 *   other relaxed commits after the last one that waited: the WAL is synced as a whole, so the
 *   next ordinary commit (or checkpoint) makes it durable too, and the order of commits holds.
 * - PostgreSQL: `SET LOCAL synchronous_commit = off`, which promises the same.
 *
 * @example
 * await relaxedCommit(ctx, (trx) => trx.updateTable('jobs').set({ heartbeat_at: now }).execute());
 */
export async function relaxedCommit<T>(
  ctx: { db: Kysely<Database>; dialect: Dialect },
  fn: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  if (ctx.dialect === 'postgres') {
    return ctx.db.transaction().execute(async (trx) => {
      await sql`SET LOCAL synchronous_commit = off`.execute(trx);
      return fn(trx);
    });
  }
  // The setting belongs to the connection: it is held for the whole transaction, so no other
  // statement runs under it, and it is set back before the connection is given back.
  return ctx.db.connection().execute(async (conn) => {
    await sql`PRAGMA synchronous = NORMAL`.execute(conn);
    try {
      return await conn.transaction().execute(fn);
    } finally {
      await sql`PRAGMA synchronous = FULL`.execute(conn);
    }
  });
}
