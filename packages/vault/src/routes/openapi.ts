/**
 * @module routes/openapi
 * The vault describes its API: an OpenAPI document generated from every route's schemas at
 * /api/openapi.json and a readable version at /api/docs (Swagger UI, served from the npm
 * package; nothing is fetched at run time). Both are public: they need no token.
 */
import { API_DOCS } from '@coffer/api';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/** Marks every route of `scope` public: no token needed (see plugins/auth). */
function publicRoutes(scope: FastifyInstance): void {
  scope.addHook('onRoute', (options) => {
    options.config = { ...options.config, public: true };
  });
}

/** Starts collecting route schemas; call before any route is added. */
export async function installOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Coffer vault API',
        version,
        description:
          'Tenants, vaults, agents, protected items, policies, jobs and the backup protocol. Send `Authorization: Bearer TOKEN` (a tenant user, agent or service-admin token); errors are `{"error": {"code", "message"}}` with the codes of docs/errors.md.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ bearer: [] }],
    },
  });
}

/** Serves the document and its readable form, once every route exists. */
export async function openApiRoutes(app: FastifyInstance): Promise<void> {
  await app.register(async (scope) => {
    publicRoutes(scope);
    scope.get(API_DOCS.openapi, { schema: { hide: true } }, () => app.swagger());
    await scope.register(swaggerUi, { routePrefix: API_DOCS.ui });
  });
}
