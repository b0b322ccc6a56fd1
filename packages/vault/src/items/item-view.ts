/**
 * @module items/item-view
 * Items as the API shows them: with their policy's name, next run, last point, last backup
 * job, health and whether their agent is online, read in one query per listing.
 */
import { ONLINE_WINDOW_MS, type Item, type ItemHealth, type JobState } from '@coffer/api';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

const iso = (ms: number): string => new Date(ms).toISOString();

const HEALTH: Partial<Record<JobState, ItemHealth>> = {
  succeeded: 'ok',
  warnings: 'warnings',
  failed: 'failed',
  cancelled: 'failed',
};

/** Items with everything their view needs; narrow it with `where` before executing. */
export function itemsWithStatus(db: Kysely<Database>) {
  return db
    .selectFrom('items')
    .innerJoin('agents', 'agents.id', 'items.agent_id')
    .leftJoin('policies', 'policies.id', 'items.policy_id')
    .selectAll('items')
    .select((eb) => [
      'policies.name as policy_name',
      'agents.last_contact_at',
      eb
        .selectFrom('points')
        .select('points.id')
        .whereRef('points.item_id', '=', 'items.id')
        .where('points.deleted_at', 'is', null)
        .orderBy('points.end_time', 'desc')
        .limit(1)
        .as('last_point_id'),
      eb
        .selectFrom('points')
        .select((p) => p.fn.max('points.end_time').as('t'))
        .whereRef('points.item_id', '=', 'items.id')
        .where('points.deleted_at', 'is', null)
        .as('last_point_at'),
      eb
        .selectFrom('jobs')
        .select('jobs.id')
        .whereRef('jobs.item_id', '=', 'items.id')
        .where('jobs.kind', '=', 'backup')
        .orderBy('jobs.created_at', 'desc')
        .orderBy('jobs.id', 'desc')
        .limit(1)
        .as('last_job_id'),
      eb
        .selectFrom('jobs')
        .select('jobs.state')
        .whereRef('jobs.item_id', '=', 'items.id')
        .where('jobs.kind', '=', 'backup')
        .where('jobs.state', 'not in', ['queued', 'running'])
        .orderBy('jobs.ended_at', 'desc')
        .limit(1)
        .as('last_finished_state'),
    ]);
}

type ItemStatusRow = Awaited<
  ReturnType<ReturnType<typeof itemsWithStatus>['executeTakeFirstOrThrow']>
>;

/** The last backup job of each item, by id, for views. */
export async function lastJobs(
  db: Kysely<Database>,
  rows: readonly ItemStatusRow[],
): Promise<Map<string, { id: string; state: JobState; ended_at: number | null }>> {
  const ids = rows.map((r) => r.last_job_id).filter((id): id is string => !!id);
  if (ids.length === 0) return new Map();
  const jobs = await db
    .selectFrom('jobs')
    .select(['id', 'state', 'ended_at'])
    .where('id', 'in', ids)
    .execute();
  return new Map(jobs.map((j) => [j.id, j]));
}

/** An item row with its status as the API shows it. */
export function itemView(
  row: ItemStatusRow,
  jobs: Map<string, { id: string; state: JobState; ended_at: number | null }>,
  now: number,
): Item {
  const item: Item = {
    id: row.id,
    vaultId: row.vault_id,
    agentId: row.agent_id,
    name: row.name,
    health: (row.last_finished_state && HEALTH[row.last_finished_state]) || 'none',
    agentOnline: row.last_contact_at !== null && now - row.last_contact_at <= ONLINE_WINDOW_MS,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
  if (row.sources !== null) item.sources = row.sources;
  if (row.policy_id !== null) item.policyId = row.policy_id;
  if (row.policy_name) item.policy = row.policy_name;
  if (row.next_slot_at !== null) item.nextRunAt = iso(row.next_slot_at);
  if (row.last_point_id && row.last_point_at !== null) {
    item.lastPoint = { id: row.last_point_id, at: iso(Number(row.last_point_at)) };
  }
  const job = row.last_job_id ? jobs.get(row.last_job_id) : undefined;
  if (job) {
    item.lastJob = { id: job.id, state: job.state };
    if (job.ended_at !== null) item.lastJob.endedAt = iso(job.ended_at);
  }
  return item;
}
