/**
 * @module db/migrations/0002-data-safety
 * Closure flags that cannot outlive what they summarise (a per-keyring closure epoch, bumped by
 * any loss) and a health state per pack (docs/reliability.md).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { MigrationContext } from './context.js';

/** Closure epochs, pack states, and triggers that invalidate closure flags on deletions. */
export function dataSafety({ dialect }: MigrationContext): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('keyrings')
        .addColumn('closure_epoch', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      // Flags written before this migration (0 or 1) could summarise blobs lost since: epoch 2
      // makes every one of them invalid, so the first commit after the upgrade walks everything.
      await sql`UPDATE keyrings SET closure_epoch = 2`.execute(db);
      await db.schema
        .alterTable('packs')
        .addColumn('state', 'text', (c) => c.notNull().defaultTo('ok'))
        .execute();
      await db.schema.alterTable('packs').addColumn('checked_at', 'bigint').execute();
      // Rows deleted behind the vault's back (or by a later sweep) invalidate every flag of
      // their keyring. PostgreSQL bumps once per statement, SQLite once per row.
      if (dialect === 'postgres') {
        await sql`
          CREATE FUNCTION coffer_invalidate_closure() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            UPDATE keyrings SET closure_epoch = closure_epoch + 1
              WHERE id IN (SELECT DISTINCT keyring_id FROM gone);
            RETURN NULL;
          END $$`.execute(db);
        for (const table of ['blobs', 'packs']) {
          await sql`
            CREATE TRIGGER ${sql.raw(`${table}_deleted_invalidate_closure`)}
              AFTER DELETE ON ${sql.table(table)} REFERENCING OLD TABLE AS gone
              FOR EACH STATEMENT EXECUTE FUNCTION coffer_invalidate_closure()`.execute(db);
        }
      } else {
        for (const table of ['blobs', 'packs']) {
          await sql`
            CREATE TRIGGER ${sql.raw(`${table}_deleted_invalidate_closure`)}
              AFTER DELETE ON ${sql.table(table)}
              BEGIN
                UPDATE keyrings SET closure_epoch = closure_epoch + 1 WHERE id = OLD.keyring_id;
              END`.execute(db);
        }
      }
    },
  };
}
