/**
 * @module db/migrations/0008-history
 * Soft delete of recovery points (when, why, by whom, and when the point's row is purged), the
 * vault's soft-delete and immutability settings, when the vault next runs expiry on its own, and
 * items whose protection was stopped (docs/history.md).
 */
import type { Kysely, Migration } from 'kysely';
import type { MigrationContext } from './context.js';

/** Soft delete, immutability and expiry scheduling. */
export function history(_context: MigrationContext): Migration {
  return {
    async up(db: Kysely<unknown>) {
      // All by the vault's clock; null while the point is live.
      await db.schema.alterTable('points').addColumn('deleted_at', 'bigint').execute();
      await db.schema.alterTable('points').addColumn('purge_at', 'bigint').execute();
      await db.schema.alterTable('points').addColumn('delete_reason', 'text').execute();
      await db.schema.alterTable('points').addColumn('deleted_by', 'text').execute();
      // Expiry reads one item's live points; purge reads the points whose date passed.
      await db.schema
        .createIndex('points_item_deleted')
        .on('points')
        .columns(['item_id', 'deleted_at'])
        .execute();
      await db.schema.createIndex('points_purge_at').on('points').column('purge_at').execute();
      await db.schema
        .alterTable('vaults')
        .addColumn('soft_delete_days', 'integer', (c) => c.notNull().defaultTo(14))
        .execute();
      await db.schema
        .alterTable('vaults')
        .addColumn('soft_delete_always_on', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('vaults')
        .addColumn('immutability', 'text', (c) => c.notNull().defaultTo('off'))
        .execute();
      // When the vault's own expiry of this vault is next due (null: at once).
      await db.schema.alterTable('vaults').addColumn('expire_due_at', 'bigint').execute();
      // When protection was stopped: no schedule, and no agent may give it a policy again.
      await db.schema.alterTable('items').addColumn('stopped_at', 'bigint').execute();
    },
  };
}
