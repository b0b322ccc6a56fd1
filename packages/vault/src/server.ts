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
import { alertRoutes } from './routes/alerts.js';
import { auditRoutes } from './routes/audit.js';
import { backupRoutes } from './routes/backup.js';
import { notifyRoutes } from './routes/notify.js';
import { restoreRoutes } from './routes/restore.js';
import { tenancyRoutes } from './routes/tenancy.js';

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
  installErrorHandler(app);
  // Authentication first: an unauthenticated request is refused before its body is looked at.
  installAuth(app);
  installBodyRules(app);
  installAudit(app);
  tenancyRoutes(app);
  accessRoutes(app);
  backupRoutes(app);
  restoreRoutes(app);
  auditRoutes(app);
  alertRoutes(app);
  notifyRoutes(app);
  await app.ready();
  return app;
}
