/**
 * @module lifecycle/tasks
 * Registers the vault's background tasks on its runner; `coffer vault serve` calls this once
 * the server listens. In-process tests build a server without them and call tasks directly.
 */
import type { FastifyInstance } from 'fastify';

/** Starts every background task of a serving vault. */
export function startTasks(app: FastifyInstance): void {
  void app;
}
