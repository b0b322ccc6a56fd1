/**
 * @module alerts/backup-alerts
 * The alerts of an item's backups: a failed backup, one with warnings, a scheduled one that did
 * not start. One alert per problem and item; the item's next successful backup resolves them
 * (warnings: its next backup without warnings). docs/history.md §Alerts.
 */
import { ALERT_KINDS } from '@coffer/api';
import type { Kysely } from 'kysely';
import type { VaultContext } from '../context.js';
import type { Database, JobRow } from '../db/schema.js';
import { raiseAlert, resolveAlerts } from './raise.js';

type BackupJob = Pick<JobRow, 'id' | 'tenant_id' | 'vault_id' | 'item_id' | 'agent_id'>;
type Ctx = Pick<VaultContext, 'db' | 'now' | 'lifecycle'>;

async function itemName(db: Kysely<Database>, itemId: string): Promise<string> {
  const row = await db
    .selectFrom('items')
    .select('name')
    .where('id', '=', itemId)
    .executeTakeFirst();
  return row?.name ?? itemId;
}

/**
 * Raises or resolves the alerts of a backup job that ended in `state` (with its error or
 * warning count); `db` may be the transaction that ended it.
 */
export async function backupEnded(
  ctx: Ctx,
  job: BackupJob,
  outcome: { state: string; error?: string | null; warningCount?: number },
  db: Kysely<Database> = ctx.db,
): Promise<void> {
  if (job.item_id === null) return;
  const problem = (kind: string) => ({
    tenantId: job.tenant_id,
    vaultId: job.vault_id,
    kind,
    subject: job.item_id!,
  });
  const name = await itemName(db, job.item_id);
  const agent = job.agent_id ? ` on agent ${job.agent_id}` : '';
  if (outcome.state === 'failed') {
    await raiseAlert(
      ctx,
      {
        ...problem(ALERT_KINDS.backupFailed),
        severity: 'critical',
        message: `backup of item ${name}${agent} failed (job ${job.id}): ${outcome.error ?? 'no reason given'}`,
      },
      db,
    );
    return;
  }
  if (outcome.state !== 'succeeded' && outcome.state !== 'warnings') return;
  // A point was made: the item is backed up again.
  await resolveAlerts(ctx, problem(ALERT_KINDS.backupFailed), db);
  await resolveAlerts(ctx, problem(ALERT_KINDS.backupMissed), db);
  if (outcome.state === 'warnings') {
    await raiseAlert(
      ctx,
      {
        ...problem(ALERT_KINDS.backupWarnings),
        severity: 'warning',
        message: `backup of item ${name}${agent} finished with ${outcome.warningCount ?? 0} warning(s) (job ${job.id}); 'coffer job show ${job.id}' lists them`,
      },
      db,
    );
  } else {
    await resolveAlerts(ctx, problem(ALERT_KINDS.backupWarnings), db);
  }
}

/** Raises the missed-backup alert of an item whose scheduled backup did not start. */
export async function backupMissed(
  ctx: Ctx,
  job: BackupJob & { slot_at: number | null; created_at: number },
  db: Kysely<Database> = ctx.db,
): Promise<void> {
  if (job.item_id === null) return;
  const name = await itemName(db, job.item_id);
  const due = new Date(job.slot_at ?? job.created_at).toISOString();
  await raiseAlert(
    ctx,
    {
      tenantId: job.tenant_id,
      vaultId: job.vault_id,
      kind: ALERT_KINDS.backupMissed,
      subject: job.item_id,
      severity: 'critical',
      message: `the scheduled backup of item ${name} (due ${due}) has not started: is the agent daemon of agent ${job.agent_id ?? '?'} running? (job ${job.id})`,
    },
    db,
  );
}
