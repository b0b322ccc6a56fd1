/**
 * @module jobs/queue
 * Creating jobs. A backup is created only when its item has none queued or running: the unique
 * index jobs_item_active_backup decides, so two vault instances or two requests can never
 * queue it twice, and the insert can share a transaction with the scheduler's claim.
 */
import type { JobTrigger } from '@coffer/api';
import type { Kysely } from 'kysely';
import type { Database, ItemTable, JobRow, JobTable } from '../db/schema.js';
import { newEntityId } from '../secrets.js';

/** Jobs with their item's name, for views. */
export function jobsWithItem(db: Kysely<Database>) {
  return db
    .selectFrom('jobs')
    .leftJoin('items', 'items.id', 'jobs.item_id')
    .selectAll('jobs')
    .select('items.name as item_name');
}

/** A new job's own fields; the rest start empty. */
export type NewJob = Pick<JobTable, 'tenant_id' | 'vault_id' | 'kind' | 'trigger' | 'state'> &
  Partial<Pick<JobTable, 'agent_id' | 'item_id' | 'point_id' | 'slot_at' | 'request'>>;

/**
 * Inserts a job created at `now` (and started, when it starts running). Resolves to its row, or
 * undefined when a unique index refused it (a backup of that item is queued or running).
 */
export async function insertJob(
  db: Kysely<Database>,
  job: NewJob,
  now: number,
): Promise<JobRow | undefined> {
  const running = job.state === 'running';
  const row = {
    id: newEntityId('jb'),
    agent_id: null,
    item_id: null,
    point_id: null,
    slot_at: null,
    request: null,
    bytes_total: null,
    files_total: null,
    error: null,
    warnings: null,
    result: null,
    started_at: running ? now : null,
    heartbeat_at: running ? now : null,
    ended_at: null,
    ...job,
    created_at: now,
  };
  const inserted = await db
    .insertInto('jobs')
    .values(row)
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) !== 1) return undefined;
  return { ...row, bytes_done: 0, files_done: 0, rate: 0, warning_count: 0, cancel_requested: 0 };
}

export interface StartedBackup {
  job: JobRow;
  /** False when the item had a backup queued or running already (that one is `job`). */
  created: boolean;
}

/** The item fields a backup job needs. */
export type BackupTarget = Pick<ItemTable, 'id' | 'vault_id' | 'agent_id'> & { tenant_id: string };

/**
 * Queues (or, for a manual backup, starts) a backup of `item` unless one is queued or running;
 * then resolves to that one.
 */
export async function startBackup(
  db: Kysely<Database>,
  item: BackupTarget,
  trigger: JobTrigger,
  now: number,
  slotAt?: number,
): Promise<StartedBackup> {
  for (;;) {
    const job = await insertJob(
      db,
      {
        tenant_id: item.tenant_id,
        vault_id: item.vault_id,
        kind: 'backup',
        trigger,
        state: trigger === 'manual' ? 'running' : 'queued',
        agent_id: item.agent_id,
        item_id: item.id,
        slot_at: slotAt ?? null,
      },
      now,
    );
    if (job) return { job, created: true };
    const active = await db
      .selectFrom('jobs')
      .selectAll()
      .where('item_id', '=', item.id)
      .where('kind', '=', 'backup')
      .where('state', 'in', ['queued', 'running'])
      .executeTakeFirst();
    // Otherwise it finished between the insert and this read: try again.
    if (active) return { job: active, created: false };
  }
}
