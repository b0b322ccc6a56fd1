/**
 * @module routes/jobs
 * Jobs: listing and following them, cancelling, restore requests for an agent, and the calls an
 * agent makes about its own jobs (start a manual one, claim a queued one, report progress,
 * finish). Users see their tenant's jobs as their role allows; an agent sees only its own.
 */
import {
  EntityId,
  FinishRequest,
  Job,
  JobList,
  JobQuery,
  ManualJobRequest,
  MAX_JOB_WARNINGS,
  ProgressAnswer,
  ProgressReport,
  RestoreRequest,
  ROUTES,
} from '@coffer/api';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { backupEnded } from '../alerts/backup-alerts.js';
import { relaxedCommit } from '../db/relaxed-commit.js';
import type { JobRow } from '../db/schema.js';
import { ensureItem } from '../items/ensure-item.js';
import { jobView } from '../jobs/job-view.js';
import { insertJob, jobsWithItem, startBackup } from '../jobs/queue.js';
import { checkRestoreRequest } from '../jobs/restore-request.js';
import { requireAgent, requireUser, userVault } from '../plugins/auth.js';
import { HttpError } from '../plugins/errors.js';
import { accessibleJob, agentInScope, agentJob } from '../plugins/resource-access.js';

const JobParams = Type.Object({ job: EntityId });
const AgentParams = Type.Object({ agent: EntityId });
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

/** The answer to a report about a job that is no longer running (ended, cancelled, timed out). */
function notRunning(jobId: string, state?: string): HttpError {
  return new HttpError(
    'JOB_STATE',
    `job ${jobId} is ${state ?? 'no longer running'}${state ? ', not running' : ''}; stop working on it`,
  );
}

/** Registers the job routes. */
export function jobRoutes(app: FastifyInstance): void {
  const { db } = app.vault;

  async function viewOf(jobId: string): Promise<Job> {
    return jobView(await jobsWithItem(db).where('jobs.id', '=', jobId).executeTakeFirstOrThrow());
  }

  function listQuery(query: JobQuery) {
    let q = jobsWithItem(db);
    if (query.item !== undefined) q = q.where('jobs.item_id', '=', query.item);
    if (query.agent !== undefined) q = q.where('jobs.agent_id', '=', query.agent);
    if (query.state !== undefined) q = q.where('jobs.state', '=', query.state);
    if (query.kind !== undefined) q = q.where('jobs.kind', '=', query.kind);
    if (query.since !== undefined) q = q.where('jobs.created_at', '>=', Date.parse(query.since));
    return q
      .orderBy('jobs.created_at', 'desc')
      .orderBy('jobs.id', 'desc')
      .limit(Math.max(1, Math.min(Number(query.limit ?? DEFAULT_LIMIT), MAX_LIMIT)));
  }

  app.get(
    ROUTES.vaultJobs,
    {
      schema: {
        params: Type.Object({ vault: EntityId }),
        querystring: JobQuery,
        response: { 200: JobList },
      },
    },
    async (request) => {
      const { vault: vaultId } = request.params as { vault: string };
      const vault = await userVault(app, request, vaultId, 'read');
      const rows = await listQuery(request.query as JobQuery)
        .where('jobs.vault_id', '=', vault.id)
        .execute();
      return { jobs: rows.map(jobView) };
    },
  );

  app.get(
    ROUTES.agentJobs,
    { schema: { params: AgentParams, querystring: JobQuery, response: { 200: JobList } } },
    async (request) => {
      const { agent: agentId } = request.params as { agent: string };
      const agent = await agentInScope(app, request, agentId);
      const rows = await listQuery(request.query as JobQuery)
        .where('jobs.agent_id', '=', agent.id)
        .execute();
      return { jobs: rows.map(jobView) };
    },
  );

  app.post(
    ROUTES.agentJobs,
    { schema: { params: AgentParams, body: ManualJobRequest, response: { 201: Job } } },
    async (request, reply) => {
      const { agent: agentId } = request.params as { agent: string };
      const agent = requireAgent(request);
      if (agent.id !== agentId) throw new HttpError('NOT_FOUND', `no agent ${agentId}`);
      const body = request.body as ManualJobRequest;
      const now = app.vault.now();
      let job: JobRow | undefined;
      if (body.kind === 'backup') {
        const item = await ensureItem(db, agent, body.item, now);
        const started = await startBackup(
          db,
          { ...item, tenant_id: agent.tenant_id },
          'manual',
          now,
        );
        if (!started.created) {
          throw new HttpError(
            'ALREADY_RUNNING',
            `item ${body.item} is being backed up already (job ${started.job.id}, ${started.job.trigger}); wait for it ('coffer job ${started.job.id} --follow') or cancel it ('coffer job cancel ${started.job.id}')`,
          );
        }
        job = started.job;
      } else {
        const point = await checkRestoreRequest(db, agent, body.restore, false);
        job = await insertJob(
          db,
          {
            tenant_id: agent.tenant_id,
            vault_id: agent.vault_id,
            kind: 'restore',
            trigger: 'manual',
            state: 'running',
            agent_id: agent.id,
            item_id: point.item_id,
            point_id: point.id,
            request: JSON.stringify(body.restore),
          },
          now,
        );
      }
      return reply.status(201).send(await viewOf(job!.id));
    },
  );

  app.post(
    ROUTES.agentRestores,
    { schema: { params: AgentParams, body: RestoreRequest, response: { 201: Job } } },
    async (request, reply) => {
      const { agent: agentId } = request.params as { agent: string };
      const user = requireUser(request, 'operate');
      const agent = await db
        .selectFrom('agents')
        .selectAll()
        .where('id', '=', agentId)
        .where('tenant_id', '=', user.tenantId)
        .executeTakeFirst();
      if (!agent) throw new HttpError('NOT_FOUND', `no agent ${agentId}`);
      const body = request.body as RestoreRequest;
      const point = await checkRestoreRequest(db, agent, body, true);
      const job = await insertJob(
        db,
        {
          tenant_id: agent.tenant_id,
          vault_id: agent.vault_id,
          kind: 'restore',
          trigger: 'on-demand',
          state: 'queued',
          agent_id: agent.id,
          item_id: point.item_id,
          point_id: point.id,
          request: JSON.stringify(body),
        },
        app.vault.now(),
      );
      app.jobSignals.signal(agent.id);
      return reply.status(201).send(await viewOf(job!.id));
    },
  );

  app.get(
    ROUTES.job,
    { schema: { params: JobParams, response: { 200: Job } } },
    async (request) => {
      const { job: jobId } = request.params as { job: string };
      const job = await accessibleJob(app, request, jobId, 'read');
      return viewOf(job.id);
    },
  );

  app.post(
    ROUTES.jobCancel,
    { schema: { params: JobParams, response: { 200: Job } } },
    async (request) => {
      const { job: jobId } = request.params as { job: string };
      const job = await accessibleJob(app, request, jobId, 'operate');
      const now = app.vault.now();
      // A queued job ends at once; a running one stops when its runner hears of it.
      const queued = await db
        .updateTable('jobs')
        .set({
          state: 'cancelled',
          cancel_requested: 1,
          error: 'cancelled before it started',
          ended_at: now,
        })
        .where('id', '=', job.id)
        .where('state', '=', 'queued')
        .executeTakeFirst();
      if (Number(queued.numUpdatedRows) !== 1) {
        const running = await db
          .updateTable('jobs')
          .set({ cancel_requested: 1 })
          .where('id', '=', job.id)
          .where('state', '=', 'running')
          .executeTakeFirst();
        if (Number(running.numUpdatedRows) !== 1) {
          const current = await viewOf(job.id);
          throw new HttpError('JOB_STATE', `job ${job.id} has finished already (${current.state})`);
        }
      }
      if (job.agent_id) app.jobSignals.signal(job.agent_id);
      return viewOf(job.id);
    },
  );

  app.post(
    ROUTES.jobClaim,
    { schema: { params: JobParams, response: { 200: Job } } },
    async (request) => {
      const { job: jobId } = request.params as { job: string };
      const job = await agentJob(app, request, jobId);
      const now = app.vault.now();
      const claimed = await db
        .updateTable('jobs')
        .set({ state: 'running', started_at: now, heartbeat_at: now })
        .where('id', '=', job.id)
        .where('state', '=', 'queued')
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) {
        throw new HttpError('JOB_STATE', `job ${job.id} is ${job.state}, not queued`);
      }
      return viewOf(job.id);
    },
  );

  app.post(
    ROUTES.jobProgress,
    {
      // A heartbeat every second while a job runs: claim and finish are audited, not this.
      config: { audit: false },
      schema: { params: JobParams, body: ProgressReport, response: { 200: ProgressAnswer } },
    },
    async (request) => {
      const { job: jobId } = request.params as { job: string };
      const job = await agentJob(app, request, jobId);
      if (job.state !== 'running') throw notRunning(job.id, job.state);
      const report = request.body as ProgressReport;
      const now = app.vault.now();
      const elapsed = now - (job.heartbeat_at ?? now);
      const recent =
        elapsed > 0
          ? Math.max(0, Math.round(((report.bytesDone - job.bytes_done) * 1000) / elapsed))
          : job.rate;
      // A heartbeat lost in a power cut is harmless; waiting for the disk every second stalled
      // the uploads of the backup it reports on.
      const updated = await relaxedCommit(app.vault, (trx) =>
        trx
          .updateTable('jobs')
          .set({
            bytes_done: report.bytesDone,
            bytes_total: report.bytesTotal ?? null,
            files_done: report.filesDone,
            files_total: report.filesTotal ?? null,
            // Smoothed over the last reports, so a pause in one second does not read as zero.
            rate: job.rate === 0 ? recent : Math.round((job.rate + recent) / 2),
            heartbeat_at: now,
          })
          .where('id', '=', job.id)
          .where('state', '=', 'running')
          .executeTakeFirst(),
      );
      if (Number(updated.numUpdatedRows) !== 1) throw notRunning(job.id);
      return { cancel: job.cancel_requested === 1 };
    },
  );

  app.post(
    ROUTES.jobFinish,
    { schema: { params: JobParams, body: FinishRequest, response: { 200: Job } } },
    async (request) => {
      const { job: jobId } = request.params as { job: string };
      const job = await agentJob(app, request, jobId);
      const body = request.body as FinishRequest;
      if (job.state !== 'running') throw notRunning(job.id, job.state);
      if (body.point !== undefined && job.kind === 'backup') {
        const point = await db
          .selectFrom('points')
          .select('id')
          .where('id', '=', body.point)
          .where('agent_id', '=', job.agent_id)
          .executeTakeFirst();
        if (!point)
          throw new HttpError('NOT_FOUND', `no recovery point ${body.point} of this agent`);
      }
      const warnings = body.warnings ?? [];
      const finished = await db
        .updateTable('jobs')
        .set({
          state: body.state,
          ended_at: app.vault.now(),
          heartbeat_at: app.vault.now(),
          ...(body.progress
            ? {
                bytes_done: body.progress.bytesDone,
                bytes_total: body.progress.bytesTotal ?? null,
                files_done: body.progress.filesDone,
                files_total: body.progress.filesTotal ?? null,
              }
            : {}),
          ...(body.point !== undefined && job.kind === 'backup' ? { point_id: body.point } : {}),
          error: body.error ?? null,
          warnings:
            warnings.length > 0 ? JSON.stringify(warnings.slice(0, MAX_JOB_WARNINGS)) : null,
          warning_count: Math.max(body.warningCount ?? 0, warnings.length),
          result: body.result ? JSON.stringify(body.result) : null,
        })
        .where('id', '=', job.id)
        .where('state', '=', 'running')
        .executeTakeFirst();
      if (Number(finished.numUpdatedRows) !== 1) throw notRunning(job.id);
      if (job.kind === 'backup') {
        await backupEnded(app.vault, job, {
          state: body.state,
          error: body.error ?? null,
          warningCount: Math.max(body.warningCount ?? 0, warnings.length),
        });
      }
      return viewOf(job.id);
    },
  );
}
