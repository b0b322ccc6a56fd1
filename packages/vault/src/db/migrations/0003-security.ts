/**
 * @module db/migrations/0003-security
 * Settings (the instance id that binds a data directory to its database), keyring join keys,
 * join grants on registration credentials, and recovery points identified per keyring.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { MigrationContext } from './context.js';

interface ColumnInfo {
  name: string;
  type: string;
  notnull: number;
  dflt_value: string | null;
}

/**
 * SQLite cannot change a primary key in place: the table is rebuilt with every column it has
 * now (including those of migrations before this one), its rows, indexes and triggers.
 */
async function rekeyPointsSqlite(db: Kysely<unknown>): Promise<void> {
  const columns = (await sql<ColumnInfo>`PRAGMA table_info(points)`.execute(db)).rows;
  const extras = (
    await sql<{ sql: string }>`
      SELECT sql FROM sqlite_master
      WHERE tbl_name = 'points' AND type IN ('index', 'trigger') AND sql IS NOT NULL`.execute(db)
  ).rows;
  const definitions = columns.map(
    (c) =>
      `"${c.name}" ${c.type}${c.notnull ? ' NOT NULL' : ''}` +
      (c.dflt_value === null ? '' : ` DEFAULT ${c.dflt_value}`),
  );
  await sql
    .raw(`CREATE TABLE points_rekeyed (${definitions.join(', ')}, PRIMARY KEY (keyring_id, id))`)
    .execute(db);
  const names = columns.map((c) => `"${c.name}"`).join(', ');
  await sql.raw(`INSERT INTO points_rekeyed (${names}) SELECT ${names} FROM points`).execute(db);
  await sql`DROP TABLE points`.execute(db);
  await sql`ALTER TABLE points_rekeyed RENAME TO points`.execute(db);
  for (const { sql: statement } of extras) await sql.raw(statement).execute(db);
}

/** The security schema changes of issue 9. */
export function security({ dialect }: MigrationContext): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
      // Base64 of the keyring's Ed25519 join public key (format.md §3.2); null until known.
      await db.schema.alterTable('keyrings').addColumn('join_key', 'text').execute();
      // Credentials made with --join-keyring may join that keyring without a signature.
      await db.schema.alterTable('registrations').addColumn('join_keyring_id', 'text').execute();
      // A point's id is its manifest id, which only means something inside its keyring: another
      // keyring may hold a blob of the same id, so the id alone must not find (or block) a point.
      if (dialect === 'postgres') {
        await sql`ALTER TABLE points DROP CONSTRAINT points_pkey`.execute(db);
        await sql`ALTER TABLE points ADD CONSTRAINT points_pkey PRIMARY KEY (keyring_id, id)`.execute(
          db,
        );
      } else {
        await rekeyPointsSqlite(db);
      }
    },
  };
}
