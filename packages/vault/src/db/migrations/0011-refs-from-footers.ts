/**
 * @module db/migrations/0011-refs-from-footers
 * Drops the blobs' refs (the ids a tree or manifest refers to): they were a second copy of what
 * every pack footer lists (format.md §5), and took about a third of the blobs table's bytes
 * (docs/performance.md, "A real vault at 100,000 files": 3.40 of 10.6 MB). The closure walk and
 * GC now read them from the footers.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { MigrationContext } from './context.js';

/** No refs column on blobs. */
export function refsFromFooters({ dialect }: MigrationContext): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (dialect === 'sqlite') {
        // The migrator records a SQLite migration after it returns and outside any transaction:
        // after a crash in between, this runs again on a table that has lost the column.
        const refs = await sql<{ name: string }>`
          SELECT name FROM pragma_table_info('blobs') WHERE name = 'refs'`.execute(db);
        if (refs.rows.length === 0) return;
      }
      // SQLite rewrites every row in this one statement, which a crash undoes whole (measured:
      // 300,000 rows in 0.16 s). The space it frees stays inside the table's pages and the file
      // keeps its size; later inserts fill it, and VACUUM with the vault stopped gives it back.
      // PostgreSQL only marks the column dropped, inside the migrator's transaction; each row
      // keeps its bytes until it is next written, or VACUUM FULL.
      await db.schema.alterTable('blobs').dropColumn('refs').execute();
    },
  };
}
