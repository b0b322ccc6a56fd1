/**
 * @module plugins/resource-access
 * Who may touch an item, a job or a policy. An agent reaches only its own items and jobs (and
 * the policies those items use); a tenant user reaches its tenant's, as its role allows. Another
 * tenant's or agent's ids answer 404, exactly like ids that do not exist.
 */
import type { Action } from '@coffer/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AgentTable, ItemTable, JobRow, PolicyTable } from '../db/schema.js';
import { requireAgent, requireUser } from './auth.js';
import { HttpError } from './errors.js';

/** An item row with its tenant. */
export type ItemRow = ItemTable & { tenant_id: string };

function principalOf(request: FastifyRequest) {
  const p = request.principal;
  if (!p)
    throw new HttpError('UNAUTHENTICATED', 'this route needs a token (Authorization: Bearer …)');
  if (p.kind === 'admin') {
    throw new HttpError('FORBIDDEN', 'the service admin manages tenants, not their backups');
  }
  return p;
}

/** Item `itemId` if the caller is its agent, or a tenant user allowed `action`; else 404/403. */
export async function accessibleItem(
  app: FastifyInstance,
  request: FastifyRequest,
  itemId: string,
  action: Action,
): Promise<ItemRow> {
  const p = principalOf(request);
  if (p.kind === 'user') requireUser(request, action);
  const row = await app.vault.db
    .selectFrom('items')
    .innerJoin('vaults', 'vaults.id', 'items.vault_id')
    .selectAll('items')
    .select('vaults.tenant_id')
    .where('items.id', '=', itemId)
    .where('vaults.tenant_id', '=', p.tenantId)
    .executeTakeFirst();
  if (!row || (p.kind === 'agent' && row.agent_id !== p.agent.id)) {
    throw new HttpError('NOT_FOUND', `no item ${itemId}`);
  }
  return row;
}

/** Job `jobId` if the caller is its agent, or a tenant user allowed `action`; else 404/403. */
export async function accessibleJob(
  app: FastifyInstance,
  request: FastifyRequest,
  jobId: string,
  action: Action,
): Promise<JobRow> {
  const p = principalOf(request);
  if (p.kind === 'user') requireUser(request, action);
  const row = await app.vault.db
    .selectFrom('jobs')
    .selectAll()
    .where('id', '=', jobId)
    .where('tenant_id', '=', p.tenantId)
    .executeTakeFirst();
  if (!row || (p.kind === 'agent' && row.agent_id !== p.agent.id)) {
    throw new HttpError('NOT_FOUND', `no job ${jobId}`);
  }
  return row;
}

/** Job `jobId` of the calling agent (claim, progress, finish); else 404 (403 for users). */
export async function agentJob(
  app: FastifyInstance,
  request: FastifyRequest,
  jobId: string,
): Promise<JobRow> {
  const agent = requireAgent(request);
  const row = await app.vault.db
    .selectFrom('jobs')
    .selectAll()
    .where('id', '=', jobId)
    .where('agent_id', '=', agent.id)
    .executeTakeFirst();
  if (!row) throw new HttpError('NOT_FOUND', `no job ${jobId}`);
  return row;
}

/**
 * Policy `policyId` for a tenant user allowed `action`, or for reading by an agent one of whose
 * items uses it; else 404/403.
 */
export async function accessiblePolicy(
  app: FastifyInstance,
  request: FastifyRequest,
  policyId: string,
  action: Action,
): Promise<PolicyTable> {
  const p = principalOf(request);
  if (p.kind === 'user') requireUser(request, action);
  else if (action !== 'read') {
    throw new HttpError('FORBIDDEN', 'policies are changed by tenant users, not agents');
  }
  const { db } = app.vault;
  const row = await db
    .selectFrom('policies')
    .innerJoin('vaults', 'vaults.id', 'policies.vault_id')
    .selectAll('policies')
    .where('policies.id', '=', policyId)
    .where('vaults.tenant_id', '=', p.tenantId)
    .executeTakeFirst();
  const usedByAgent =
    p.kind === 'agent' && row
      ? await db
          .selectFrom('items')
          .select('id')
          .where('policy_id', '=', row.id)
          .where('agent_id', '=', p.agent.id)
          .executeTakeFirst()
      : undefined;
  if (!row || (p.kind === 'agent' && !usedByAgent)) {
    throw new HttpError('NOT_FOUND', `no policy ${policyId}`);
  }
  return row;
}

/**
 * The agent `agentId` for itself, or for a tenant user of its tenant (any role); another agent's
 * id answers 404, like an unknown one. Grants do not count: they open points, not items or jobs.
 */
export async function agentInScope(
  app: FastifyInstance,
  request: FastifyRequest,
  agentId: string,
): Promise<AgentTable> {
  const p = principalOf(request);
  if (p.kind === 'agent') {
    if (p.agent.id !== agentId) throw new HttpError('NOT_FOUND', `no agent ${agentId}`);
    return p.agent;
  }
  requireUser(request, 'read');
  const agent = await app.vault.db
    .selectFrom('agents')
    .selectAll()
    .where('id', '=', agentId)
    .where('tenant_id', '=', p.tenantId)
    .executeTakeFirst();
  if (!agent) throw new HttpError('NOT_FOUND', `no agent ${agentId}`);
  return agent;
}
