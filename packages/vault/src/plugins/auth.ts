/**
 * @module plugins/auth
 * Resolves the bearer token of every request to a principal, and the checks routes use to
 * authorize. Another tenant's resources answer 404, so their existence does not leak.
 */
import { roleAllows, type Action, type Role } from '@coffer/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AgentTable, TokenTable, VaultTable } from '../db/schema.js';
import { hashSecret } from '../secrets.js';
import { HttpError } from './errors.js';

export type Principal =
  | { kind: 'admin'; tokenId: string }
  | { kind: 'user'; tokenId: string; tenantId: string; role: Role }
  | { kind: 'agent'; tokenId: string; tenantId: string; agent: AgentTable };

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** The route takes requests without a token (registration); every other route needs one. */
    public?: boolean;
  }
}

const BEARER = /^Bearer ([A-Za-z0-9_-]{10,200})$/;

/**
 * Refuses an unauthenticated request. `onRequest` runs before Fastify reads the body, so the
 * body is never parsed or kept: Node discards what the client still sends.
 */
function refuse(message: string): never {
  throw new HttpError('UNAUTHENTICATED', message);
}

/** Refuses a revoked or expired token (expiry by the vault's clock). */
function refuseEndedToken(token: TokenTable, now: number): void {
  if (token.revoked_at != null) {
    refuse(
      token.kind === 'agent'
        ? 'this machine was removed from its vault; register it again with new credentials'
        : 'this token was revoked; ask for a new one',
    );
  }
  if (token.expires_at != null && token.expires_at <= now) {
    refuse(`this token expired at ${new Date(token.expires_at).toISOString()}; ask for a new one`);
  }
}

/**
 * Adds the `onRequest` hook that resolves `request.principal`. Every route but the public ones
 * (route `config: { public: true }`) answers 401 here, before any body is read.
 */
export function installAuth(app: FastifyInstance): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    if (header === undefined) {
      if (request.routeOptions.config.public === true) return;
      refuse('this route needs a token (Authorization: Bearer …)');
    }
    const match = BEARER.exec(header);
    if (!match) refuse('malformed Authorization header');
    const { db } = app.vault;
    const token = await db
      .selectFrom('tokens')
      .selectAll()
      .where('hash', '=', hashSecret(match[1]!))
      .executeTakeFirst();
    if (!token) refuse('unknown or revoked token');
    refuseEndedToken(token, app.vault.now());
    if (token.kind === 'admin') request.principal = { kind: 'admin', tokenId: token.id };
    else if (token.kind === 'user')
      request.principal = {
        kind: 'user',
        tokenId: token.id,
        tenantId: token.tenant_id!,
        role: token.role as Role,
      };
    else {
      const agent = await db
        .selectFrom('agents')
        .selectAll()
        .where('id', '=', token.agent_id!)
        .executeTakeFirst();
      if (!agent) refuse('this agent no longer exists');
      if (agent.removed_at != null) {
        refuse('this machine was removed from its vault; register it again with new credentials');
      }
      request.principal = { kind: 'agent', tokenId: token.id, tenantId: agent.tenant_id, agent };
    }
  });
}

function authenticated(request: FastifyRequest): Principal {
  if (!request.principal) {
    throw new HttpError('UNAUTHENTICATED', 'this route needs a token (Authorization: Bearer …)');
  }
  return request.principal;
}

/** The service admin, or 403. */
export function requireAdmin(request: FastifyRequest): void {
  if (authenticated(request).kind !== 'admin') {
    throw new HttpError('FORBIDDEN', 'only the service admin token may do this');
  }
}

/** A tenant user whose role allows `action`, or 403. */
export function requireUser(
  request: FastifyRequest,
  action: Action,
): Extract<Principal, { kind: 'user' }> {
  const p = authenticated(request);
  if (p.kind !== 'user') throw new HttpError('FORBIDDEN', 'this route needs a tenant user token');
  if (!roleAllows(p.role, action)) {
    throw new HttpError('FORBIDDEN', `role ${p.role} may not ${action} here`);
  }
  return p;
}

/** A registered agent, or 403. */
export function requireAgent(request: FastifyRequest): AgentTable {
  const p = authenticated(request);
  if (p.kind !== 'agent') throw new HttpError('FORBIDDEN', 'this route needs an agent token');
  return p.agent;
}

/** The vault `vaultId` of the user's own tenant, or 404. */
export async function userVault(
  app: FastifyInstance,
  request: FastifyRequest,
  vaultId: string,
  action: Action,
): Promise<VaultTable> {
  const user = requireUser(request, action);
  const vault = await app.vault.db
    .selectFrom('vaults')
    .selectAll()
    .where('id', '=', vaultId)
    .where('tenant_id', '=', user.tenantId)
    .executeTakeFirst();
  if (!vault) throw new HttpError('NOT_FOUND', `no vault ${vaultId} in this tenant`);
  return vault;
}

/**
 * The agent `agentId` whose points and data the caller may read: an agent itself, an agent it
 * was granted, or any agent of a tenant user's own tenant. Otherwise 404 (other tenant) or 403.
 */
export async function readableAgent(
  app: FastifyInstance,
  request: FastifyRequest,
  agentId: string,
): Promise<AgentTable> {
  const p = authenticated(request);
  if (p.kind === 'admin') throw new HttpError('FORBIDDEN', 'the service admin reads no backups');
  if (p.kind === 'agent' && p.agent.id === agentId) return p.agent;
  const { db } = app.vault;
  const target = await db
    .selectFrom('agents')
    .selectAll()
    .where('id', '=', agentId)
    .where('tenant_id', '=', p.tenantId)
    .executeTakeFirst();
  if (!target) throw new HttpError('NOT_FOUND', `no agent ${agentId}`);
  if (p.kind === 'user') {
    requireUser(request, 'read');
    return target;
  }
  const grant = await db
    .selectFrom('grants')
    .select('agent_id')
    .where('agent_id', '=', agentId)
    .where('grantee_id', '=', p.agent.id)
    .executeTakeFirst();
  if (!grant) {
    throw new HttpError(
      'FORBIDDEN',
      `agent ${p.agent.id} may not read agent ${agentId}; a tenant user can allow it with 'coffer agent grant'`,
    );
  }
  return target;
}
