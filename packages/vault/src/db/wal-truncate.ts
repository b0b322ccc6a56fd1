/**
 * @module db/wal-truncate
 * Gives back the disk space of SQLite's write-ahead log when a backup commits and whenever the
 * vault is idle. A checkpoint copies the log into the database file but leaves the log file in
 * place, cut back only to `journal_size_limit` (1 MiB) when the next write restarts it: after a
 * backup of 100,000 small files that was a sixteenth of the vault's metadata, for as long as
 * the vault stayed idle.
 */
import { sql, type Kysely } from 'kysely';
import { SQLITE_BUSY_TIMEOUT_MS } from './connect.js';
import type { Database } from './schema.js';

/** The lifecycle task's name. */
export const WAL_TASK = 'wal';

/** The log is emptied once nothing was written for this long (up to twice this, as it polls). */
export const WAL_IDLE_MS = 2000;

/**
 * A run of the WAL task on a SQLite database: empties the log when nothing was written since
 * the run before and something was since it was last emptied.
 * @example lifecycle.every(WAL_TASK, WAL_IDLE_MS, walTruncation(db));
 */
export function walTruncation(db: Kysely<Database>): () => Promise<void> {
  let seen: number | undefined;
  let emptiedAt: number | undefined;
  return async () => {
    // Rows written through this connection, the vault's only one, since it was opened.
    const { rows } = await sql<{ n: number }>`SELECT total_changes() AS n`.execute(db);
    const changes = rows[0]!.n;
    const idle = changes === seen;
    seen = changes;
    if (!idle || changes === emptiedAt) return;
    if (await emptyWal(db)) emptiedAt = changes;
  };
}

/**
 * Empties the log of SQLite database `db` (`wal_checkpoint(TRUNCATE)`); resolves to false when
 * a reader in another process held it back. It costs a checkpoint SQLite would have run anyway
 * (1–11 ms after a backup of 100,000 files) and no durability: the checkpoint syncs the
 * database file before it cuts the log.
 */
export async function emptyWal(db: Kysely<Database>): Promise<boolean> {
  // On the connection alone: no transaction of the vault's runs meanwhile.
  return db.connection().execute(async (conn) => {
    // A reader in another process (the sqlite3 shell, a copy of the file) holds a TRUNCATE
    // checkpoint back: rather than block the vault's one thread for the busy timeout, it
    // returns at once, and a later run tries again.
    await sql`PRAGMA busy_timeout = 0`.execute(conn);
    try {
      const result = await sql<{ busy: number }>`PRAGMA wal_checkpoint(TRUNCATE)`.execute(conn);
      return result.rows[0]?.busy === 0;
    } finally {
      await sql.raw(`PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`).execute(conn);
    }
  });
}
