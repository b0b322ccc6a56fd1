/**
 * @module alerts/health-task
 * A lifecycle task that raises what nobody reports: a scheduled backup still not started some
 * time after its slot (the daemon is down, the machine is off), and an agent daemon that has not
 * polled the vault for longer than the offline threshold (resolved when it polls again).
 * Everything on the vault's clock; raising an open problem again only counts it.
 */
import { ALERT_KINDS } from '@coffer/api';
import type { FastifyInstance } from 'fastify';
import { backupMissed } from './backup-alerts.js';
import { raiseAlert, resolveAlerts } from './raise.js';

export const HEALTH_TASK = 'health-alerts';
export const HEALTH_TASK_INTERVAL_MS = 5000;
/** A scheduled backup not started this long after its slot is missed. */
export const MISSED_AFTER_MS = 10 * 60_000;
/** An agent daemon silent this long is offline (its poll answers every 20 s or so). */
export const AGENT_OFFLINE_AFTER_MS = 60 * 60_000;

/** The subjects of the open alerts of `kind`, with when each was last raised. */
async function openAlerts(app: FastifyInstance, kind: string): Promise<Map<string, number>> {
  const rows = await app.vault.db
    .selectFrom('alerts')
    .select(['subject', 'last_raised'])
    .where('kind', '=', kind)
    .where('open_key', 'is not', null)
    .execute();
  return new Map(rows.map((r) => [r.subject, Number(r.last_raised)]));
}

/** Raises missed-backup and agent-offline alerts, and resolves those of agents back online. */
export async function runHealthChecks(app: FastifyInstance): Promise<void> {
  const { db } = app.vault;
  const now = app.vault.now();
  const missed = await db
    .selectFrom('jobs')
    .select(['id', 'tenant_id', 'vault_id', 'item_id', 'agent_id', 'slot_at', 'created_at'])
    .where('kind', '=', 'backup')
    .where('trigger', '=', 'schedule')
    .where('state', '=', 'queued')
    .where('created_at', '<=', now - MISSED_AFTER_MS)
    .execute();
  const alerted = await openAlerts(app, ALERT_KINDS.backupMissed);
  for (const job of missed) {
    // Counted once per job, not once per look: the open alert raised for this job stays as it is.
    if ((alerted.get(job.item_id ?? '') ?? -1) >= job.created_at) continue;
    await backupMissed(app.vault, job);
  }

  const offlineCutoff = now - AGENT_OFFLINE_AFTER_MS;
  const silent = await db
    .selectFrom('agents')
    .select(['id', 'tenant_id', 'vault_id', 'name', 'last_contact_at'])
    .where('removed_at', 'is', null)
    .where('last_contact_at', 'is not', null)
    .where('last_contact_at', '<', offlineCutoff)
    .execute();
  const offline = await openAlerts(app, ALERT_KINDS.agentOffline);
  for (const agent of silent) {
    if (offline.has(agent.id)) continue;
    const since = new Date(Number(agent.last_contact_at)).toISOString();
    await raiseAlert(app.vault, {
      tenantId: agent.tenant_id,
      vaultId: agent.vault_id,
      kind: ALERT_KINDS.agentOffline,
      subject: agent.id,
      severity: 'warning',
      message: `agent ${agent.name} (${agent.id}) has not contacted the vault since ${since}: its scheduled backups cannot run`,
    });
  }
  const open = await db
    .selectFrom('alerts')
    .innerJoin('agents', 'agents.id', 'alerts.subject')
    .select(['alerts.tenant_id', 'alerts.vault_id', 'alerts.subject', 'agents.last_contact_at'])
    .where('alerts.kind', '=', ALERT_KINDS.agentOffline)
    .where('alerts.open_key', 'is not', null)
    .execute();
  for (const alert of open) {
    const back = alert.last_contact_at !== null && Number(alert.last_contact_at) >= offlineCutoff;
    if (!back) continue;
    await resolveAlerts(app.vault, {
      tenantId: alert.tenant_id,
      vaultId: alert.vault_id,
      kind: ALERT_KINDS.agentOffline,
      subject: alert.subject,
    });
  }
}
