/**
 * @module db/migrations/0010-no-blobs-by-pack
 * Drops the index of blobs by (keyring, pack) that 0009 made for garbage collection: it took
 * about a third of the blob index's bytes, and GC now finds a pack's rows through the ids its
 * footer lists, looked up by primary key (docs/gc.md).
 */
import type { Kysely, Migration } from 'kysely';
import type { MigrationContext } from './context.js';

/** No index of blobs by pack. */
export function noBlobsByPack(_context: MigrationContext): Migration {
  return {
    async up(db: Kysely<unknown>) {
      // On SQLite the index's pages become free pages that later rows reuse; the file shrinks
      // only with VACUUM (docs/performance.md, "Vault metadata").
      await db.schema.dropIndex('blobs_pack').ifExists().execute();
    },
  };
}
