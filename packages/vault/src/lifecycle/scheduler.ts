/**
 * @module lifecycle/scheduler
 * The vault owns the schedule: every item with a policy has `next_slot_at`; when it passes, one
 * backup job is queued and the next slot computed. A slot is claimed with a compare-and-set of
 * `next_slot_at`, in the same transaction as the job, so that several vault instances never
 * queue it twice and a crash never loses it. An item whose backup is still queued or running
 * gets no second one: slots missed while an agent or the vault was down are caught up once.
 */
import type { PolicySpec } from '@coffer/api';
import { nextSlot } from '@coffer/core';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { startBackup } from '../jobs/queue.js';
import { backupMissed } from '../alerts/backup-alerts.js';

/** The lifecycle task's name, to wake it after policy and item changes. */
export const SCHEDULER_TASK = 'scheduler';
/** Longest the scheduler sleeps, so it sees slots another vault instance set. */
export const SCHEDULER_MAX_SLEEP_MS = 5000;
const BATCH = 100;

/**
 * The slot to queue next: the first after `now`, and never one at or before the last slot
 * queued (a clock that moved backwards does not run a slot twice).
 */
export function followingSlot(spec: PolicySpec, now: number, lastSlot: number | null): number {
  return nextSlot(spec.schedule, Math.max(now, lastSlot ?? Number.NEGATIVE_INFINITY));
}

/** Sets the next slot of every item that uses policy `policyId` (after it changed). */
export async function reschedulePolicy(
  db: Kysely<Database>,
  policyId: string,
  spec: PolicySpec,
  now: number,
): Promise<void> {
  const items = await db
    .selectFrom('items')
    .select(['id', 'last_slot_at'])
    .where('policy_id', '=', policyId)
    .execute();
  for (const item of items) {
    await db
      .updateTable('items')
      .set({ next_slot_at: followingSlot(spec, now, item.last_slot_at) })
      .where('id', '=', item.id)
      .where('policy_id', '=', policyId)
      .execute();
  }
}

/**
 * Queues the backups whose slot has come; resolves to how long to sleep before the next run
 * (until the earliest next slot, at most SCHEDULER_MAX_SLEEP_MS). `onQueued` hears of each job.
 */
export async function runScheduler(
  app: FastifyInstance,
  onQueued: (agentId: string) => void = (agentId) => app.jobSignals.signal(agentId),
): Promise<number> {
  const { db } = app.vault;
  const now = app.vault.now();
  for (;;) {
    const due = await db
      .selectFrom('items')
      .innerJoin('policies', 'policies.id', 'items.policy_id')
      .innerJoin('vaults', 'vaults.id', 'items.vault_id')
      .select([
        'items.id',
        'items.vault_id',
        'items.agent_id',
        'items.next_slot_at',
        'policies.spec',
        'vaults.tenant_id',
      ])
      .where('items.next_slot_at', '<=', now)
      .orderBy('items.next_slot_at')
      .limit(BATCH)
      .execute();
    for (const item of due) {
      const slot = item.next_slot_at!;
      const spec = JSON.parse(item.spec) as PolicySpec;
      const queued = await db.transaction().execute(async (trx) => {
        const claimed = await trx
          .updateTable('items')
          .set({ next_slot_at: followingSlot(spec, now, slot), last_slot_at: slot })
          .where('id', '=', item.id)
          .where('next_slot_at', '=', slot)
          .executeTakeFirst();
        if (Number(claimed.numUpdatedRows) !== 1) return false;
        const started = await startBackup(trx, item, 'schedule', now, slot);
        // The previous slot's backup was never picked up: this slot is missed too.
        if (!started.created && started.job.state === 'queued') {
          await backupMissed(app.vault, started.job, trx);
        }
        return started.created;
      });
      if (queued) onQueued(item.agent_id);
    }
    if (due.length < BATCH) break;
  }
  const earliest = await db
    .selectFrom('items')
    .select((eb) => eb.fn.min('next_slot_at').as('at'))
    .where('policy_id', 'is not', null)
    .executeTakeFirst();
  const at = earliest?.at === null || earliest?.at === undefined ? undefined : Number(earliest.at);
  return at === undefined
    ? SCHEDULER_MAX_SLEEP_MS
    : Math.min(SCHEDULER_MAX_SLEEP_MS, Math.max(10, at - app.vault.now()));
}
