/**
 * @module routes/gc
 * On-demand garbage collection of a vault: queues a GC job (or answers with the one queued or
 * running) and wakes the vault's GC task. Needs no key and no agent (docs/gc.md).
 */
import { EntityId, GcRunResponse, ROUTES } from '@coffer/api';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { GC_TASK, queueGc } from '../gc/job.js';
import { jobView } from '../jobs/job-view.js';
import { userVault } from '../plugins/auth.js';

/** Registers the GC route. */
export function gcRoutes(app: FastifyInstance): void {
  app.post(
    ROUTES.vaultGc,
    {
      schema: {
        params: Type.Object({ vault: EntityId }),
        response: { 200: GcRunResponse, 201: GcRunResponse },
      },
    },
    async (request, reply) => {
      const { vault: vaultId } = request.params as { vault: string };
      const vault = await userVault(app, request, vaultId, 'operate');
      const { job, created } = await queueGc(app.vault.db, vault, 'on-demand', app.vault.now());
      app.vault.lifecycle.wake(GC_TASK);
      return reply
        .status(created ? 201 : 200)
        .send({ job: jobView(job), alreadyRunning: !created });
    },
  );
}
