/**
 * @module lifecycle/tasks
 * Registers the vault's background tasks on its runner; `coffer vault serve` calls this once
 * the server listens. In-process tests build a server without them and call tasks directly.
 */
import type { FastifyInstance } from 'fastify';
import { DELIVERY_TASK, deliveryTask } from '../alerts/delivery-task.js';

/** Starts every background task of a serving vault. */
export function startTasks(app: FastifyInstance): void {
  app.vault.lifecycle.every(DELIVERY_TASK, 1000, () => deliveryTask(app.vault));
}
