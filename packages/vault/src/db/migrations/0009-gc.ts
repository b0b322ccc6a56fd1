/**
 * @module db/migrations/0009-gc
 * Garbage collection with a grace period (docs/gc.md): blobs and packs are condemned before they
 * are deleted, GC finds the rows of a pack through an index, and one GC per vault runs at once.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { MigrationContext } from './context.js';

/** condemned_at on blobs and packs, blobs by pack, one active GC job per vault. */
export function gc(_context: MigrationContext): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('blobs').addColumn('condemned_at', 'bigint').execute();
      await db.schema.alterTable('packs').addColumn('condemned_at', 'bigint').execute();
      await db.schema
        .createIndex('blobs_pack')
        .ifNotExists()
        .on('blobs')
        .columns(['keyring', 'pack'])
        .execute();
      // Several vault instances may queue a GC of one vault at once: the index keeps one.
      await sql`CREATE UNIQUE INDEX jobs_vault_active_gc ON jobs (vault_id)
        WHERE kind = 'gc' AND state IN ('queued', 'running')`.execute(db);
    },
  };
}
