import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { createPgDatabase } from '../../cli/test/e2e/harness.js';
// For its BIGINT parser, which the vault installs when it opens a database.
import '../src/db/connect.js';
import { migrations, type Dialect } from '../src/db/migrations.js';

/** An empty metadata database for a migration test, and a migrator over every migration. */
export interface MigrationDb<DB> {
  db: Kysely<DB>;
  migrator: Migrator;
  /** Closes the database (and drops it, on PostgreSQL). */
  close(): Promise<void>;
}

/** A new empty database of `dialect`: in memory for SQLite, a database of its own on PostgreSQL. */
export async function migrationDb<DB>(dialect: Dialect): Promise<MigrationDb<DB>> {
  const pgDb = dialect === 'postgres' ? await createPgDatabase() : undefined;
  const db = new Kysely<DB>({
    dialect: pgDb
      ? new PostgresDialect({ pool: new pg.Pool({ connectionString: pgDb.url }) })
      : new SqliteDialect({ database: new BetterSqlite3(':memory:') }),
  });
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(migrations(dialect)) },
    allowUnorderedMigrations: true,
  });
  return {
    db,
    migrator,
    close: async () => {
      await db.destroy();
      await pgDb?.drop();
    },
  };
}
