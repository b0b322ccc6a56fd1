/**
 * @module db/connect
 * Opens the metadata database named by a URL: `sqlite:PATH` (the embedded default) or
 * `postgres://…`, and migrates it; or looks at one without creating or changing anything.
 */
import { cacheStatements } from './statement-cache.js';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import pg from 'pg';
import { CofferError } from '@coffer/core';
import { databaseError } from '../startup-errors.js';
import { migrate, type Dialect } from './migrations.js';
import type { Database } from './schema.js';

export interface MetadataDb {
  db: Kysely<Database>;
  dialect: Dialect;
  close(): Promise<void>;
}

/** What a database holds before a vault starts with it. */
export type MetadataDbProbe =
  | { exists: false }
  | {
      exists: true;
      /** The instance id of the data directory it belongs to (settings), if bound. */
      instanceId: string | null;
      /** The data directory it was bound to, as an absolute path, if bound. */
      dataDir: string | null;
      /** True once a vault start made its service-admin token. */
      hasAdmin: boolean;
    };

/** How long a SQLite statement waits for a lock another process holds before it fails. */
export const SQLITE_BUSY_TIMEOUT_MS = 10_000;

// BIGINT columns hold sizes and millisecond times, all far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

const isPostgres = (url: string): boolean =>
  url.startsWith('postgres://') || url.startsWith('postgresql://');

/** The file of a `sqlite:` URL, or undefined for an in-memory database. */
function sqlitePath(url: string): string | undefined {
  const path = url.slice('sqlite:'.length);
  return path === '' || path === ':memory:' ? undefined : path;
}

function badUrl(url: string): Error {
  return new CofferError(
    'USAGE',
    `--db ${url.replace(/\/\/[^@/]*@/, '//…@')}: expected sqlite:PATH or postgres://USER@HOST:PORT/DATABASE`,
  );
}

/**
 * The database file and its WAL files hold wrapped keyrings and token hashes: only the vault's
 * user may read them. A new file is created 0600 (SQLite gives its -wal and -shm files the
 * mode of the database file), and files an older version left readable are narrowed.
 */
function restrictSqliteFiles(path: string): void {
  if (!existsSync(path)) closeSync(openSync(path, 'wx', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(file)) chmodSync(file, 0o600);
  }
}

/** Opens and migrates the database at `url`; failures a user can fix are one clear line. */
export async function openMetadataDb(url: string): Promise<MetadataDb> {
  try {
    return await open(url);
  } catch (error) {
    throw databaseError(error, url);
  }
}

async function open(url: string): Promise<MetadataDb> {
  let db: Kysely<Database>;
  let dialect: Dialect;
  if (isPostgres(url)) {
    dialect = 'postgres';
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    // An idle connection the server closed (a restart, an administrator) is an 'error' on the
    // pool, which Node turns into a crash without a listener. The pool has dropped the client
    // already and the next query opens a new connection, so there is nothing else to do.
    pool.on('error', () => undefined);
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  } else if (url.startsWith('sqlite:')) {
    dialect = 'sqlite';
    const path = sqlitePath(url);
    if (path !== undefined) restrictSqliteFiles(path);
    const sqlite = new BetterSqlite3(path ?? ':memory:');
    cacheStatements(sqlite);
    sqlite.pragma('journal_mode = WAL');
    // FULL: a committed recovery point survives a power cut, not only a process crash.
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    // A checkpoint resets the WAL but keeps its file at the largest size it reached (a big
    // commit, or a long read that held checkpoints back): cut it back so that it stays small
    // while the vault is busy. Once it is idle, the WAL task (db/wal-truncate) empties it.
    sqlite.pragma('journal_size_limit = 1048576');
    // 64 MiB of page cache at most (SQLite's default is 2 MiB): indexing a pack inserts
    // thousands of random ids, touching most pages of the blob index, which otherwise are
    // spilled and read again within one transaction.
    sqlite.pragma('cache_size = -65536');
    // A multi-row INSERT inside a transaction keeps each page it changes in a statement journal,
    // in case it must be undone alone; past 64 KiB SQLite spills that journal to a temporary
    // file, so indexing a pack wrote its pages to disk once more (a tenth of the vault's CPU in
    // an initial backup of many small files). In memory it is at most a statement's pages.
    sqlite.pragma('temp_store = MEMORY');
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  } else {
    throw badUrl(url);
  }
  try {
    await migrate(db, dialect);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return { db, dialect, close: () => db.destroy() };
}

interface ProbeRows {
  tables: string[];
  setting(key: string): Promise<string | null>;
  hasAdmin(): Promise<boolean>;
}

async function probeFrom(rows: ProbeRows): Promise<MetadataDbProbe> {
  // A database no vault has migrated yet is as good as absent.
  if (!rows.tables.includes('kysely_migration')) return { exists: false };
  const bound = rows.tables.includes('settings');
  return {
    exists: true,
    instanceId: bound ? await rows.setting('instance_id') : null,
    dataDir: bound ? await rows.setting('data_dir') : null,
    hasAdmin: rows.tables.includes('tokens') && (await rows.hasAdmin()),
  };
}

/**
 * Looks at the database at `url` without creating, migrating or changing anything; a database
 * that cannot be reached is one clear line.
 */
export async function probeMetadataDb(url: string): Promise<MetadataDbProbe> {
  try {
    return await probe(url);
  } catch (error) {
    throw databaseError(error, url);
  }
}

async function probe(url: string): Promise<MetadataDbProbe> {
  if (isPostgres(url)) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const tables = await client.query<{ name: string }>(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'",
      );
      return await probeFrom({
        tables: tables.rows.map((r) => r.name),
        setting: async (key) =>
          (
            await client.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [
              key,
            ])
          ).rows[0]?.value ?? null,
        hasAdmin: async () =>
          (await client.query("SELECT 1 FROM tokens WHERE kind = 'admin' LIMIT 1")).rowCount !== 0,
      });
    } finally {
      await client.end();
    }
  }
  if (!url.startsWith('sqlite:')) throw badUrl(url);
  const path = sqlitePath(url);
  if (path === undefined || !existsSync(path)) return { exists: false };
  const sqlite = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    const tables = sqlite
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
      .all();
    return await probeFrom({
      tables: tables.map((r) => r.name),
      setting: async (key) =>
        sqlite
          .prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?')
          .get(key)?.value ?? null,
      hasAdmin: async () =>
        sqlite.prepare("SELECT 1 FROM tokens WHERE kind = 'admin' LIMIT 1").get() !== undefined,
    });
  } finally {
    sqlite.close();
  }
}
