/**
 * @module server
 * Builds the vault's Fastify application from its parts.
 */
import { BODY_LIMITS } from '@coffer/api';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { VaultContext } from './context.js';
import { installAudit } from './audit/hook.js';
import { installAuth } from './plugins/auth.js';
import { installBodyRules } from './plugins/body.js';
import { installErrorHandler } from './plugins/errors.js';
import { accessRoutes } from './routes/access.js';
import { installJobSignals } from './jobs/signals.js';
import { agentWorkRoutes } from './routes/agent-work.js';
import { alertRoutes } from './routes/alerts.js';
import { auditRoutes } from './routes/audit.js';
import { backupRoutes } from './routes/backup.js';
import { historyRoutes } from './routes/history.js';
import { itemRoutes } from './routes/items.js';
import { jobRoutes } from './routes/jobs.js';
import { gcRoutes } from './routes/gc.js';
import { notifyRoutes } from './routes/notify.js';
import { installOpenApi, openApiRoutes } from './routes/openapi.js';
import { policyRoutes } from './routes/policies.js';
import { restoreRoutes } from './routes/restore.js';
import { tenancyRoutes } from './routes/tenancy.js';

const VERSION = '0.1.0';

export interface ServerOptions {
  context: VaultContext;
  /** TLS key and certificate; without them the server speaks plain HTTP (tests only). */
  tls?: { key: string; cert: string };
  logger?: FastifyServerOptions['logger'];
}

/** Builds (but does not start) the vault's HTTP server. */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    // JSON bodies are small; routes that take more (id batches, registration) say so, and
    // packs stream and carry their own limit.
    bodyLimit: BODY_LIMITS.json,
    ...(options.tls ? { https: { key: options.tls.key, cert: options.tls.cert } } : {}),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  }) as unknown as FastifyInstance;
  app.decorate('vault', options.context);
  await installOpenApi(app, VERSION);
  installErrorHandler(app);
  // Authentication first: an unauthenticated request is refused before its body is looked at.
  installAuth(app);
  installBodyRules(app);
  installAudit(app);
  installJobSignals(app);
  tenancyRoutes(app);
  accessRoutes(app);
  backupRoutes(app);
  restoreRoutes(app);
  auditRoutes(app);
  alertRoutes(app);
  notifyRoutes(app);
  policyRoutes(app);
  itemRoutes(app);
  jobRoutes(app);
  gcRoutes(app);
  agentWorkRoutes(app);
  historyRoutes(app);
  await openApiRoutes(app);
  await app.ready();
  return app;
}
