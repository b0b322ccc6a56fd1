/**
 * @module db/migrations/0006-audit-and-alerts
 * The hash-chained audit log with its chain heads, alerts, notification targets and the outbox
 * of alert deliveries (docs/audit.md).
 */
import type { Kysely, Migration } from 'kysely';
import type { MigrationContext } from './context.js';

/** Audit log, alerts and notifications. */
export function auditAndAlerts(_context: MigrationContext): Migration {
  return {
    async up(db: Kysely<unknown>) {
      // One row per chain (a tenant, or `service`): appends lock it, and its seq and hash let
      // verification notice entries deleted from the end.
      await db.schema
        .createTable('audit_chains')
        .addColumn('chain', 'text', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('audit_log')
        .addColumn('chain', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor_kind', 'text', (c) => c.notNull())
        .addColumn('actor_token', 'text')
        .addColumn('actor_agent', 'text')
        .addColumn('actor_name', 'text')
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('route', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('vault_id', 'text')
        .addColumn('resource', 'text', (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('error_code', 'text')
        .addColumn('hash', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('audit_log_pk', ['chain', 'seq'])
        .execute();
      await db.schema
        .createIndex('audit_log_chain_at')
        .on('audit_log')
        .columns(['chain', 'at'])
        .execute();
      await db.schema
        .createTable('alerts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('vault_id', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('first_raised', 'bigint', (c) => c.notNull())
        .addColumn('last_raised', 'bigint', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('acknowledged_at', 'bigint')
        .addColumn('acknowledged_by', 'text')
        .addColumn('resolved_at', 'bigint')
        // Set while the alert is open or acknowledged, NULL once resolved: the unique index
        // makes "one alert per problem" hold across vault instances (NULLs never collide).
        .addColumn('open_key', 'text', (c) => c.unique())
        .execute();
      await db.schema
        .createIndex('alerts_tenant_raised')
        .on('alerts')
        .columns(['tenant_id', 'last_raised'])
        .execute();
      await db.schema
        .createTable('notify_targets')
        .addColumn('vault_id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('webhook_url', 'text')
        .addColumn('webhook_secret', 'text')
        .addColumn('emails', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('notify_targets_tenant')
        .on('notify_targets')
        .column('tenant_id')
        .execute();
      await db.schema
        .createTable('alert_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('alert_id', 'text', (c) => c.notNull())
        .addColumn('settings_vault', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
        .addColumn('claim', 'text')
        .addColumn('claimed_until', 'bigint')
        .addColumn('last_error', 'text')
        .addColumn('last_attempt_at', 'bigint')
        .addColumn('delivered_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('alert_deliveries_due')
        .on('alert_deliveries')
        .columns(['state', 'next_attempt_at'])
        .execute();
      await db.schema
        .createIndex('alert_deliveries_alert')
        .on('alert_deliveries')
        .column('alert_id')
        .execute();
    },
  };
}
