/**
 * @module db/connect
 * Opens the metadata database named by a URL: `sqlite:PATH` (the embedded default) or
 * `postgres://…`, and migrates it.
 */
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { migrate, type Dialect } from './migrations.js';
import type { Database } from './schema.js';

export interface MetadataDb {
  db: Kysely<Database>;
  dialect: Dialect;
  close(): Promise<void>;
}

// BIGINT columns hold sizes and millisecond times, all far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/** Opens and migrates the database at `url`. */
export async function openMetadataDb(url: string): Promise<MetadataDb> {
  let db: Kysely<Database>;
  let dialect: Dialect;
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    dialect = 'postgres';
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    // An idle connection the server closed (a restart, an administrator) is an 'error' on the
    // pool, which Node turns into a crash without a listener. The pool has dropped the client
    // already and the next query opens a new connection, so there is nothing else to do.
    pool.on('error', () => undefined);
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  } else if (url.startsWith('sqlite:')) {
    dialect = 'sqlite';
    const sqlite = new BetterSqlite3(url.slice('sqlite:'.length));
    sqlite.pragma('journal_mode = WAL');
    // FULL: a committed recovery point survives a power cut, not only a process crash.
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('busy_timeout = 10000');
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  } else {
    throw new Error(`--db ${url}: expected sqlite:PATH or postgres://USER@HOST:PORT/DATABASE`);
  }
  try {
    await migrate(db, dialect);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return { db, dialect, close: () => db.destroy() };
}
