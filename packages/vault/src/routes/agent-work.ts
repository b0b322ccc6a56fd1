/**
 * @module routes/agent-work
 * The agent daemon's long poll: records the agent's contact and version, then answers as soon
 * as a job is queued for it (woken in-process, and re-reading the database every POLL_RECHECK_MS
 * so that work queued through another vault instance is seen too), or after `wait` seconds.
 */
import { MAX_POLL_WAIT_SECONDS, ROUTES, Work, WorkQuery } from '@coffer/api';
import type { FastifyInstance } from 'fastify';
import { jobView } from '../jobs/job-view.js';
import { jobsWithItem } from '../jobs/queue.js';
import { requireAgent } from '../plugins/auth.js';

/** How often a waiting poll re-reads the database. */
export const POLL_RECHECK_MS = 1500;
/** Most jobs one poll hands out. */
const MAX_WANT = 100;

/** Registers the agent's work poll. */
export function agentWorkRoutes(app: FastifyInstance): void {
  const { db } = app.vault;

  app.get(
    ROUTES.agentWork,
    { schema: { querystring: WorkQuery, response: { 200: Work } } },
    async (request) => {
      const agent = requireAgent(request);
      const query = request.query as WorkQuery;
      // Query strings are not coerced (see server.ts): the schema checks digits, this the range.
      const wait = Math.min(Number(query.wait ?? 0), MAX_POLL_WAIT_SECONDS);
      const want = Math.min(Number(query.want ?? 1), MAX_WANT);
      const { version } = query;
      await db
        .updateTable('agents')
        .set({
          last_contact_at: app.vault.now(),
          ...(version !== undefined ? { agent_version: version } : {}),
        })
        .where('id', '=', agent.id)
        .execute();
      // Real time, not the vault's clock: this is how long the connection stays open.
      const deadline = Date.now() + wait * 1000;
      for (;;) {
        const rows =
          want > 0
            ? await jobsWithItem(db)
                .where('jobs.agent_id', '=', agent.id)
                .where('jobs.state', '=', 'queued')
                .orderBy('jobs.created_at')
                .orderBy('jobs.id')
                .limit(want)
                .execute()
            : [];
        const left = deadline - Date.now();
        if (rows.length > 0 || left <= 0 || app.jobSignals.closing) {
          return { jobs: rows.map(jobView) };
        }
        await app.jobSignals.wait(agent.id, Math.min(POLL_RECHECK_MS, left));
      }
    },
  );
}
