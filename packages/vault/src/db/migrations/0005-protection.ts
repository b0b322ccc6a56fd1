/**
 * @module db/migrations/0005-protection
 * Policies, protected items, jobs and agent status. Every (agent, item name) of existing points
 * becomes an item, and points refer to their item, so today's points stay readable.
 */
import { randomBytes } from 'node:crypto';
import { sql, type Kysely, type Migration } from 'kysely';
import type { MigrationContext } from './context.js';

/** Policies, items, jobs; items for existing points; agents' last contact and version. */
export function protection(_context: MigrationContext): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('policies')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('vault_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('policies_vault_name', ['vault_id', 'name'])
        .execute();
      await db.schema
        .createTable('items')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('vault_id', 'text', (c) => c.notNull())
        .addColumn('agent_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('sources', 'text')
        .addColumn('policy_id', 'text')
        .addColumn('next_slot_at', 'bigint')
        .addColumn('last_slot_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('items_agent_name', ['agent_id', 'name'])
        .execute();
      await db.schema.createIndex('items_next_slot').on('items').column('next_slot_at').execute();
      await db.schema.createIndex('items_policy').on('items').column('policy_id').execute();
      await db.schema.createIndex('items_vault').on('items').column('vault_id').execute();
      await db.schema
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('vault_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('trigger', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('agent_id', 'text')
        .addColumn('item_id', 'text')
        .addColumn('point_id', 'text')
        .addColumn('slot_at', 'bigint')
        .addColumn('request', 'text')
        .addColumn('bytes_done', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('bytes_total', 'bigint')
        .addColumn('files_done', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('files_total', 'bigint')
        .addColumn('rate', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('error', 'text')
        .addColumn('warnings', 'text')
        .addColumn('warning_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('result', 'text')
        .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('started_at', 'bigint')
        .addColumn('heartbeat_at', 'bigint')
        .addColumn('ended_at', 'bigint')
        .execute();
      await db.schema
        .createIndex('jobs_vault_created')
        .on('jobs')
        .columns(['vault_id', 'created_at'])
        .execute();
      await db.schema
        .createIndex('jobs_agent_state')
        .on('jobs')
        .columns(['agent_id', 'state'])
        .execute();
      await db.schema
        .createIndex('jobs_item_created')
        .on('jobs')
        .columns(['item_id', 'created_at'])
        .execute();
      await db.schema
        .createIndex('jobs_state_heartbeat')
        .on('jobs')
        .columns(['state', 'heartbeat_at'])
        .execute();
      // At most one backup of an item is queued or running, whichever vault instance or agent
      // asks: a second one fails this index and is answered "already running".
      await sql`CREATE UNIQUE INDEX jobs_item_active_backup ON jobs (item_id)
        WHERE kind = 'backup' AND state IN ('queued', 'running')`.execute(db);

      await db.schema.alterTable('agents').addColumn('last_contact_at', 'bigint').execute();
      await db.schema.alterTable('agents').addColumn('agent_version', 'text').execute();
      await db.schema.alterTable('points').addColumn('item_id', 'text').execute();

      const pairs = await sql<{ vault_id: string; agent_id: string; item: string; first: number }>`
        SELECT vault_id, agent_id, item, MIN(created_at) AS first
        FROM points GROUP BY vault_id, agent_id, item`.execute(db);
      for (const pair of pairs.rows) {
        const first = Number(pair.first);
        await sql`INSERT INTO items (id, vault_id, agent_id, name, created_at, updated_at)
          VALUES (${`it_${randomBytes(8).toString('hex')}`}, ${pair.vault_id}, ${pair.agent_id},
                  ${pair.item}, ${first}, ${first})`.execute(db);
      }
      await sql`UPDATE points SET item_id = (
          SELECT items.id FROM items
          WHERE items.agent_id = points.agent_id AND items.name = points.item)`.execute(db);
      await db.schema
        .createIndex('points_item')
        .on('points')
        .columns(['item_id', 'end_time'])
        .execute();
    },
  };
}
