/**
 * @module jobs/job-view
 * Job rows as the API shows them.
 */
import type { Job, JobWarning, RestoreRequest } from '@coffer/api';
import type { JobRow } from '../db/schema.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** A job row (with its item's name, when it has an item) as the API shows it. */
export function jobView(row: JobRow & { item_name?: string | null }): Job {
  const job: Job = {
    id: row.id,
    vaultId: row.vault_id,
    kind: row.kind,
    trigger: row.trigger,
    state: row.state,
    progress: {
      bytesDone: row.bytes_done,
      filesDone: row.files_done,
      rate: row.rate,
    },
    warnings: row.warnings === null ? [] : (JSON.parse(row.warnings) as JobWarning[]),
    warningCount: row.warning_count,
    cancelRequested: row.cancel_requested === 1,
    createdAt: iso(row.created_at),
  };
  if (row.bytes_total !== null) job.progress.bytesTotal = row.bytes_total;
  if (row.files_total !== null) job.progress.filesTotal = row.files_total;
  if (row.agent_id !== null) job.agentId = row.agent_id;
  if (row.item_id !== null) job.itemId = row.item_id;
  if (row.item_name) job.item = row.item_name;
  if (row.point_id !== null) job.pointId = row.point_id;
  if (row.slot_at !== null) job.slotAt = iso(row.slot_at);
  if (row.request !== null && row.kind === 'restore') {
    job.restore = JSON.parse(row.request) as RestoreRequest;
  }
  if (row.error !== null) job.error = row.error;
  if (row.result !== null) job.result = JSON.parse(row.result) as Record<string, unknown>;
  if (row.started_at !== null) job.startedAt = iso(row.started_at);
  if (row.heartbeat_at !== null) job.heartbeatAt = iso(row.heartbeat_at);
  if (row.ended_at !== null) job.endedAt = iso(row.ended_at);
  return job;
}
