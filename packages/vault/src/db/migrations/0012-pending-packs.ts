/**
 * @module db/migrations/0012-pending-packs
 * Packs stored and verified but not yet in the blob index (pack-indexer.ts): an upload records
 * its pack here, and the index takes many such packs in one transaction instead of one per
 * upload, whose commit rewrote most of the index's pages each time (docs/performance.md).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { MigrationContext } from './context.js';

/** The pending_packs table. */
export function pendingPacks(_context: MigrationContext): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await sql`CREATE TABLE pending_packs (
        keyring_id text NOT NULL,
        name text NOT NULL,
        size bigint NOT NULL,
        blobs integer NOT NULL,
        created_at bigint NOT NULL,
        PRIMARY KEY (keyring_id, name))`.execute(db);
    },
  };
}
