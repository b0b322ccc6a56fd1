/**
 * @module audit/hook
 * Records every state-changing call (POST, PUT, PATCH, DELETE) in the audit log, refusals
 * included. The entry is written before the answer leaves (onSend), so a caller that saw an
 * answer finds its entry in the log.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actionName } from './actions.js';
import { SERVICE_CHAIN, appendAudit, type AuditRecord } from './chain.js';

/** What a route knows about a call that its principal does not tell (e.g. registration). */
export interface AuditNote {
  tenantId: string;
  vaultId?: string;
  /** The agent the call acted as (a machine registering with vault credentials). */
  agent?: { id: string; name: string };
}

declare module 'fastify' {
  interface FastifyRequest {
    auditNote: AuditNote | null;
  }
  interface FastifyContextConfig {
    /**
     * False for a heartbeat that changes no state worth a record (a job's progress report).
     * 'read' for a query sent as a POST for its body (which ids are stored, where blobs are):
     * it is recorded, but its entry's commit does not wait for the disk (db/relaxed-commit).
     * A restore makes one such call per hundred files or so.
     */
    audit?: boolean | 'read';
  }
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const MAX_TEXT = 256;
const PARAM_NAME = /^[a-z]{1,32}$/;

/** Attributes the call to a tenant (and vault, agent) its token alone does not name. */
export function noteAudit(request: FastifyRequest, note: AuditNote): void {
  request.auditNote = note;
}

function errorCode(payload: unknown): string | null {
  // Our own error answer (plugins/errors.ts), never the request's body.
  if (typeof payload !== 'string') return null;
  try {
    const code = (JSON.parse(payload) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code.slice(0, 64) : null;
  } catch {
    return null;
  }
}

async function describeCall(
  app: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
): Promise<AuditRecord> {
  const p = request.principal;
  const note = request.auditNote;
  const pattern = request.routeOptions.url;
  const params: Record<string, string> = {};
  if (pattern !== undefined) {
    for (const [key, value] of Object.entries(request.params as Record<string, unknown>)) {
      if (PARAM_NAME.test(key) && typeof value === 'string') params[key] = value.slice(0, MAX_TEXT);
    }
  }
  let tokenName: string | null = null;
  if (p && p.kind !== 'agent') {
    const token = await app.vault.db
      .selectFrom('tokens')
      .select('name')
      .where('id', '=', p.tokenId)
      .executeTakeFirst();
    tokenName = token?.name ?? null;
  }
  const agent =
    note?.agent ?? (p?.kind === 'agent' ? { id: p.agent.id, name: p.agent.name } : null);
  return {
    chain: note?.tenantId ?? (p && p.kind !== 'admin' ? p.tenantId : SERVICE_CHAIN),
    at: app.vault.now(),
    actor_kind: agent ? 'agent' : (p?.kind ?? 'anonymous'),
    actor_token: p?.tokenId ?? null,
    actor_agent: agent?.id ?? null,
    actor_name: agent?.name ?? tokenName,
    method: request.method,
    // An unknown route has no pattern: its path (without the query) stands in.
    route: pattern ?? request.url.split('?')[0]!.slice(0, MAX_TEXT),
    action: actionName(request.method, pattern),
    vault_id: params.vault ?? note?.vaultId ?? (p?.kind === 'agent' ? p.agent.vault_id : null),
    resource: JSON.stringify(params),
    address: request.ip,
    status: reply.statusCode,
    error_code: reply.statusCode >= 400 ? errorCode(payload) : null,
  };
}

/** Adds the hook that writes one audit entry per state-changing call. */
export function installAudit(app: FastifyInstance): void {
  app.decorateRequest('auditNote', null);
  app.addHook('onSend', async (request, reply, payload) => {
    const { audit } = request.routeOptions.config;
    if (!STATE_CHANGING.has(request.method) || audit === false) return payload;
    try {
      await appendAudit(app.vault, await describeCall(app, request, reply, payload), {
        relaxed: audit === 'read',
      });
    } catch (err) {
      // The call itself is done; failing its answer would not undo it. The log says so.
      request.log.error({ err }, 'could not write the audit entry of this call');
    }
    return payload;
  });
}
