/**
 * @module alerts/raise
 * What other parts of the vault call when something goes wrong or a critical operation
 * happens: `raiseAlert` (one alert per problem; raising it again counts) and `resolveAlerts`.
 * A new alert queues one delivery per notification target, sent by the delivery task.
 */
import type { AlertSeverity } from '@coffer/api';
import type { Kysely } from 'kysely';
import type { VaultContext } from '../context.js';
import type { Database } from '../db/schema.js';
import { newEntityId } from '../secrets.js';
import { DELIVERY_TASK } from './delivery-task.js';

/** A problem or event to alert on. */
export interface AlertInput {
  tenantId: string;
  /** The vault concerned; null for the tenant as a whole (its alerts go to every vault's targets). */
  vaultId: string | null;
  /** A stable name, e.g. `backup.failed` (ALERT_KINDS in @coffer/api). */
  kind: string;
  /** What it is about: an item, agent or token id. With the vault and kind, names the problem. */
  subject: string;
  severity: AlertSeverity;
  /** One line for people, e.g. `backup of item "home" on agent ag_… failed: disk full`. */
  message: string;
}

export interface RaisedAlert {
  id: string;
  /** Times raised while open; 1 means this call created the alert (and queued deliveries). */
  count: number;
}

type Problem = Pick<AlertInput, 'tenantId' | 'vaultId' | 'kind' | 'subject'>;

function openKey(p: Problem): string {
  return JSON.stringify([p.tenantId, p.vaultId, p.kind, p.subject]);
}

/**
 * Raises an alert, or counts it again if the same problem (tenant, vault, kind, subject) is
 * open or acknowledged. Pass a transaction as `db` to raise it atomically with the change it
 * reports. Deliveries are queued only when the alert is new.
 *
 * @example
 * await raiseAlert(app.vault, { tenantId, vaultId, kind: 'backup.failed', subject: itemId,
 *   severity: 'critical', message: `backup of ${item} failed: ${reason}` }, trx);
 */
export async function raiseAlert(
  ctx: Pick<VaultContext, 'db' | 'now' | 'lifecycle'>,
  input: AlertInput,
  db: Kysely<Database> = ctx.db,
): Promise<RaisedAlert> {
  const now = ctx.now();
  const raised = await db
    .insertInto('alerts')
    .values({
      id: newEntityId('al'),
      tenant_id: input.tenantId,
      vault_id: input.vaultId,
      kind: input.kind,
      subject: input.subject,
      severity: input.severity,
      state: 'open',
      message: input.message,
      first_raised: now,
      last_raised: now,
      count: 1,
      acknowledged_at: null,
      acknowledged_by: null,
      resolved_at: null,
      open_key: openKey(input),
    })
    .onConflict((oc) =>
      oc.column('open_key').doUpdateSet((eb) => ({
        count: eb('alerts.count', '+', 1),
        last_raised: now,
        message: input.message,
        severity: input.severity,
      })),
    )
    .returning(['id', 'count'])
    .executeTakeFirstOrThrow();
  if (raised.count === 1) {
    await queueDeliveries(db, raised.id, input, now);
    ctx.lifecycle.wake(DELIVERY_TASK);
  }
  return raised;
}

/** Resolves the open or acknowledged alert of this problem, if any; returns how many. */
export async function resolveAlerts(
  ctx: Pick<VaultContext, 'db' | 'now'>,
  problem: Problem,
  db: Kysely<Database> = ctx.db,
): Promise<number> {
  const result = await db
    .updateTable('alerts')
    .set({ state: 'resolved', resolved_at: ctx.now(), open_key: null })
    .where('open_key', '=', openKey(problem))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** One delivery per distinct target of the vault (or of every vault of the tenant). */
async function queueDeliveries(
  db: Kysely<Database>,
  alertId: string,
  input: AlertInput,
  now: number,
): Promise<void> {
  let query = db.selectFrom('notify_targets').selectAll().where('tenant_id', '=', input.tenantId);
  if (input.vaultId !== null) query = query.where('vault_id', '=', input.vaultId);
  const settings = await query.orderBy('vault_id').execute();
  const seen = new Set<string>();
  const rows = [];
  for (const s of settings) {
    const targets: Array<['webhook' | 'email', string]> = [];
    if (s.webhook_url !== null) targets.push(['webhook', s.webhook_url]);
    for (const email of JSON.parse(s.emails) as string[]) targets.push(['email', email]);
    for (const [channel, target] of targets) {
      const key = `${channel} ${target.toLowerCase()}`;
      if (seen.has(key)) continue;
      seen.add(key);
      rows.push({
        id: newEntityId('dl'),
        alert_id: alertId,
        settings_vault: s.vault_id,
        channel,
        target,
        state: 'pending' as const,
        attempts: 0,
        next_attempt_at: now,
        claim: null,
        claimed_until: null,
        last_error: null,
        last_attempt_at: null,
        delivered_at: null,
        created_at: now,
      });
    }
  }
  if (rows.length > 0) await db.insertInto('alert_deliveries').values(rows).execute();
}
