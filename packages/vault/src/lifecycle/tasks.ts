/**
 * @module lifecycle/tasks
 * Registers the vault's background tasks on its runner; `coffer vault serve` calls this once
 * the server listens. In-process tests build a server without them and call tasks directly.
 */
import type { FastifyInstance } from 'fastify';
import { DELIVERY_TASK, deliveryTask } from '../alerts/delivery-task.js';
import {
  DEFAULT_JOB_TIMEOUT_MS,
  JOB_TIMEOUT_TASK,
  endSilentJobs,
  timeoutCheckInterval,
} from './job-timeouts.js';
import { DEFAULT_GC_SETTINGS, GC_POLL_MS, GC_TASK, gcTask, type GcSettings } from '../gc/job.js';
import { SCHEDULER_MAX_SLEEP_MS, SCHEDULER_TASK, runScheduler } from './scheduler.js';
import { EXPIRE_TASK, EXPIRE_TASK_INTERVAL_MS, runExpireTask } from '../history/expire-task.js';
import { HEALTH_TASK, HEALTH_TASK_INTERVAL_MS, runHealthChecks } from '../alerts/health-task.js';
import { WAL_IDLE_MS, WAL_TASK, walTruncation } from '../db/wal-truncate.js';
import { INDEX_TASK, INDEX_TASK_INTERVAL_MS, runIndexTask } from '../pack-indexer.js';

export interface TaskOptions {
  /** How long a running job may go without a progress report before it fails. */
  jobTimeoutMs?: number;
  /** Garbage collection's grace period, repack thresholds and schedule (docs/gc.md). */
  gc?: Partial<GcSettings>;
}

/** Starts every background task of a serving vault. */
export function startTasks(app: FastifyInstance, options: TaskOptions = {}): void {
  const { lifecycle } = app.vault;
  const startedAt = app.vault.now();
  const jobTimeoutMs = options.jobTimeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
  lifecycle.every(SCHEDULER_TASK, SCHEDULER_MAX_SLEEP_MS, () => runScheduler(app));
  lifecycle.wake(SCHEDULER_TASK);
  lifecycle.every(JOB_TIMEOUT_TASK, timeoutCheckInterval(jobTimeoutMs), async () => {
    await endSilentJobs(app, jobTimeoutMs, startedAt);
  });
  lifecycle.every(DELIVERY_TASK, 1000, () => deliveryTask(app.vault));
  lifecycle.every(EXPIRE_TASK, EXPIRE_TASK_INTERVAL_MS, () => runExpireTask(app));
  lifecycle.wake(EXPIRE_TASK);
  lifecycle.every(HEALTH_TASK, HEALTH_TASK_INTERVAL_MS, () => runHealthChecks(app));
  lifecycle.every(INDEX_TASK, INDEX_TASK_INTERVAL_MS, () => runIndexTask(app.vault, startedAt));
  lifecycle.wake(INDEX_TASK);
  const gc = { ...DEFAULT_GC_SETTINGS, ...options.gc };
  lifecycle.every(GC_TASK, GC_POLL_MS, () => gcTask(app, gc));
  if (app.vault.dialect === 'sqlite') {
    lifecycle.every(WAL_TASK, WAL_IDLE_MS, walTruncation(app.vault.db));
  }
}
