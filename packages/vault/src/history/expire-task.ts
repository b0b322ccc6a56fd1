/**
 * @module history/expire-task
 * Expiry as a job the vault runs itself (kind `expire`, no agent): the lifecycle task queues one
 * per vault when the vault's `expire_due_at` passes (claimed with a compare-and-set, so several
 * vault instances queue it once), runs the queued ones (on-demand ones from `coffer expire`
 * too), each claimed `queued → running` by one instance, and records what they did.
 */
import type { FastifyInstance } from 'fastify';
import type { JobRow } from '../db/schema.js';
import { insertJob } from '../jobs/queue.js';
import { expireVault } from './expire.js';

/** The lifecycle task's name; `coffer expire` wakes it. */
export const EXPIRE_TASK = 'expire';
/** How often (vault clock) each vault's expiry runs on its own. */
export const EXPIRE_EVERY_MS = 3_600_000;
/** How often the task looks for due vaults and queued jobs (real time). */
export const EXPIRE_TASK_INTERVAL_MS = 30_000;
/** Least time between two heartbeats of a running expire job. */
const BEAT_MS = 2000;

/** Queues the scheduled expiry of every vault whose turn has come. */
async function queueDue(app: FastifyInstance): Promise<void> {
  const { db } = app.vault;
  const now = app.vault.now();
  const due = await db
    .selectFrom('vaults')
    .select(['id', 'tenant_id', 'expire_due_at'])
    .where((eb) => eb.or([eb('expire_due_at', 'is', null), eb('expire_due_at', '<=', now)]))
    .execute();
  for (const vault of due) {
    await db.transaction().execute(async (trx) => {
      const claimed = await trx
        .updateTable('vaults')
        .set({ expire_due_at: now + EXPIRE_EVERY_MS })
        .where('id', '=', vault.id)
        .where((eb) =>
          vault.expire_due_at == null
            ? eb('expire_due_at', 'is', null)
            : eb('expire_due_at', '=', vault.expire_due_at),
        )
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) return;
      await insertJob(
        trx,
        {
          tenant_id: vault.tenant_id,
          vault_id: vault.id,
          kind: 'expire',
          trigger: 'schedule',
          state: 'queued',
        },
        now,
      );
    });
  }
}

/** Runs one claimed expire job to its end. */
async function runJob(app: FastifyInstance, job: JobRow): Promise<void> {
  const { db } = app.vault;
  let lastBeat = Date.now();
  const beat = async (): Promise<void> => {
    // Real time: a heartbeat is about this process being alive, not about simulated days.
    if (Date.now() - lastBeat < BEAT_MS) return;
    lastBeat = Date.now();
    await db
      .updateTable('jobs')
      .set({ heartbeat_at: app.vault.now() })
      .where('id', '=', job.id)
      .where('state', '=', 'running')
      .execute();
  };
  try {
    const result = await expireVault(app.vault, job.vault_id, beat);
    await db
      .updateTable('jobs')
      .set({
        state: 'succeeded',
        ended_at: app.vault.now(),
        heartbeat_at: app.vault.now(),
        result: JSON.stringify(result),
        files_done: result.expired + result.purged,
      })
      .where('id', '=', job.id)
      .where('state', '=', 'running')
      .execute();
  } catch (error) {
    app.log.error({ err: error, job: job.id }, 'expiry failed');
    await db
      .updateTable('jobs')
      .set({
        state: 'failed',
        ended_at: app.vault.now(),
        error: `expiry failed: ${error instanceof Error ? error.message : String(error)}`,
      })
      .where('id', '=', job.id)
      .where('state', '=', 'running')
      .execute();
  }
}

/** The task: queue due expiries, then run every queued expire job this instance claims. */
export async function runExpireTask(app: FastifyInstance): Promise<void> {
  const { db } = app.vault;
  await queueDue(app);
  const queued = await db
    .selectFrom('jobs')
    .selectAll()
    .where('kind', '=', 'expire')
    .where('state', '=', 'queued')
    .orderBy('created_at')
    .execute();
  for (const job of queued) {
    const now = app.vault.now();
    const claimed = await db
      .updateTable('jobs')
      .set({ state: 'running', started_at: now, heartbeat_at: now })
      .where('id', '=', job.id)
      .where('state', '=', 'queued')
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) continue;
    if (job.cancel_requested === 1) {
      await db
        .updateTable('jobs')
        .set({ state: 'cancelled', ended_at: now })
        .where('id', '=', job.id)
        .execute();
      continue;
    }
    await runJob(app, job);
  }
}
