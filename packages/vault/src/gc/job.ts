/**
 * @module gc/job
 * GC as a job the vault runs itself (kind 'gc', no agent): queued on demand (POST
 * /v1/vaults/:vault/gc) or by the schedule (each vault once per interval), claimed with a
 * compare-and-set so that one vault instance runs it, kept alive by heartbeats so the job
 * timeout task leaves it alone, and finished with the counts of collectVault as its result.
 */
import type { JobTrigger } from '@coffer/api';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database, JobRow } from '../db/schema.js';
import { insertJob } from '../jobs/queue.js';
import { collectVault, type GcOptions } from './collect.js';

/** The lifecycle task's name, to wake it after a GC was queued. */
export const GC_TASK = 'gc';
/** How often the task looks for queued GC jobs and vaults due for a scheduled one. */
export const GC_POLL_MS = 60_000;

/** How often a running GC job records that it is alive (the job timeout is minutes). */
const HEARTBEAT_MS = 5000;

/** GC settings of a serving vault, with the interval of scheduled runs. */
export interface GcSettings extends GcOptions {
  /** A vault gets a scheduled GC when its last one was created longer ago than this. */
  intervalMs: number;
}

/**
 * The defaults: a day's grace (longer than any backup is expected to run; a longer one has its
 * commit refused once and retries), repack below half live or under 4 MiB, a run a day.
 */
export const DEFAULT_GC_SETTINGS: GcSettings = {
  graceMs: 24 * 3_600_000,
  repackBelow: 0.5,
  smallPackBytes: 4 * 1024 * 1024,
  targetPackBytes: 16 * 1024 * 1024,
  intervalMs: 24 * 3_600_000,
};

/** The GC job stopped: cancelled, or taken over (timed out) while it ran. */
class GcStopped extends Error {}

/**
 * Queues a GC of vault `vault` unless one is queued or running; resolves to the job and
 * whether it is new.
 */
export async function queueGc(
  db: Kysely<Database>,
  vault: { id: string; tenant_id: string },
  trigger: JobTrigger,
  now: number,
): Promise<{ job: JobRow; created: boolean }> {
  for (;;) {
    const job = await insertJob(
      db,
      { tenant_id: vault.tenant_id, vault_id: vault.id, kind: 'gc', trigger, state: 'queued' },
      now,
    );
    if (job) return { job, created: true };
    const active = await db
      .selectFrom('jobs')
      .selectAll()
      .where('vault_id', '=', vault.id)
      .where('kind', '=', 'gc')
      .where('state', 'in', ['queued', 'running'])
      .executeTakeFirst();
    if (active) return { job: active, created: false };
  }
}

/** Queues a scheduled GC for every vault whose last GC was created `intervalMs` ago or more. */
async function queueDue(app: FastifyInstance, intervalMs: number): Promise<void> {
  const { db } = app.vault;
  const now = app.vault.now();
  const vaults = await db
    .selectFrom('vaults')
    .leftJoin('jobs', (join) =>
      join.onRef('jobs.vault_id', '=', 'vaults.id').on('jobs.kind', '=', 'gc'),
    )
    .select(['vaults.id', 'vaults.tenant_id', 'vaults.created_at'])
    .select((eb) => eb.fn.max('jobs.created_at').as('last'))
    .groupBy(['vaults.id', 'vaults.tenant_id', 'vaults.created_at'])
    .execute();
  for (const vault of vaults) {
    const last = vault.last === null ? Number(vault.created_at) : Number(vault.last);
    if (now - last >= intervalMs) await queueGc(db, vault, 'schedule', now);
  }
}

/** Runs queued GC job `job` if this instance claims it. */
async function runJob(app: FastifyInstance, job: JobRow, settings: GcSettings): Promise<void> {
  const { db } = app.vault;
  const claimed = await db
    .updateTable('jobs')
    .set({ state: 'running', started_at: app.vault.now(), heartbeat_at: app.vault.now() })
    .where('id', '=', job.id)
    .where('state', '=', 'queued')
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) !== 1) return;
  let lastBeat = app.vault.now();
  const heartbeat = async (): Promise<void> => {
    // Often enough for the job timeout, rarely enough not to sync the database per batch.
    const now = app.vault.now();
    if (now - lastBeat < HEARTBEAT_MS && now >= lastBeat) return;
    lastBeat = now;
    const beat = await db
      .updateTable('jobs')
      .set({ heartbeat_at: now })
      .where('id', '=', job.id)
      .where('state', '=', 'running')
      .where('cancel_requested', '=', 0)
      .executeTakeFirst();
    // Stopping midway is safe: every step of a run is atomic and the next run redoes the rest.
    if (Number(beat.numUpdatedRows) !== 1) throw new GcStopped();
  };
  try {
    const result = await collectVault(app.vault, job.vault_id, settings, heartbeat);
    await db
      .updateTable('jobs')
      .set({
        state: 'succeeded',
        result: JSON.stringify(result),
        bytes_done: result.bytesAfter,
        bytes_total: result.bytesBefore,
        ended_at: app.vault.now(),
      })
      .where('id', '=', job.id)
      .where('state', '=', 'running')
      .execute();
  } catch (error) {
    const stopped = error instanceof GcStopped;
    await db
      .updateTable('jobs')
      .set({
        state: stopped ? 'cancelled' : 'failed',
        error: stopped ? 'cancelled' : `GC failed: ${(error as Error).message}`,
        ended_at: app.vault.now(),
      })
      .where('id', '=', job.id)
      .where('state', '=', 'running')
      .execute();
    if (!stopped) throw error;
  }
}

/**
 * One run of the GC task: queues scheduled GCs that are due, then runs every queued GC job
 * this instance claims, oldest first.
 */
export async function gcTask(app: FastifyInstance, settings: GcSettings): Promise<void> {
  await queueDue(app, settings.intervalMs);
  const queued = await app.vault.db
    .selectFrom('jobs')
    .selectAll()
    .where('kind', '=', 'gc')
    .where('state', '=', 'queued')
    .orderBy('created_at')
    .execute();
  for (const job of queued) await runJob(app, job, settings);
}
