/**
 * @module lifecycle/job-timeouts
 * Ends running jobs whose runner went silent: no progress report for the job timeout. Silence
 * is counted from this vault process's start at the earliest, so a vault restart gives agents a
 * full timeout to report in again before their jobs are failed. One UPDATE per outcome, so
 * several vault instances can run it at once.
 */
import type { FastifyInstance } from 'fastify';
import { backupEnded } from '../alerts/backup-alerts.js';

export const JOB_TIMEOUT_TASK = 'job-timeouts';
/** How long a running job may go without a report (vault serve --job-timeout). */
export const DEFAULT_JOB_TIMEOUT_MS = 180_000;

/** How often to look, for a given timeout: often enough to end a job soon after it. */
export function timeoutCheckInterval(timeoutMs: number): number {
  return Math.min(5000, Math.max(200, Math.floor(timeoutMs / 4)));
}

/**
 * Fails (or, when a cancel was asked for, cancels) running jobs silent for `timeoutMs`;
 * `runningSince` is when this process started, on the vault's clock. Resolves to how many.
 */
export async function endSilentJobs(
  app: FastifyInstance,
  timeoutMs: number,
  runningSince: number,
): Promise<number> {
  const { db } = app.vault;
  const now = app.vault.now();
  const cutoff = now - timeoutMs;
  if (runningSince > cutoff) return 0;
  const seconds = Math.round(timeoutMs / 1000);
  const silent = `no progress report for ${seconds} s`;
  // The backups about to be failed, to alert on them once they are.
  const failing = await db
    .selectFrom('jobs')
    .selectAll()
    .where('state', '=', 'running')
    .where('kind', '=', 'backup')
    .where('heartbeat_at', '<', cutoff)
    .where('cancel_requested', '=', 0)
    .execute();
  let ended = 0;
  for (const cancel of [0, 1]) {
    for (const byAgent of [true, false]) {
      const who = byAgent
        ? `the agent stopped reporting (${silent}): it may have crashed, been stopped or lost its connection`
        : `the vault process running it stopped (${silent})`;
      let query = db
        .updateTable('jobs')
        .set({
          state: cancel ? 'cancelled' : 'failed',
          error: cancel ? `cancelled; ${who}` : who,
          ended_at: now,
        })
        .where('state', '=', 'running')
        .where('heartbeat_at', '<', cutoff)
        .where('cancel_requested', '=', cancel);
      query = byAgent
        ? query.where('agent_id', 'is not', null)
        : query.where('agent_id', 'is', null);
      const result = await query.executeTakeFirst();
      ended += Number(result.numUpdatedRows);
    }
  }
  for (const job of failing) {
    const after = await db
      .selectFrom('jobs')
      .select(['state', 'error'])
      .where('id', '=', job.id)
      .executeTakeFirst();
    if (after?.state === 'failed' && after.error?.includes(silent)) {
      await backupEnded(app.vault, job, after);
    }
  }
  return ended;
}
