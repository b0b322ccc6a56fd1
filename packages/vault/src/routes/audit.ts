/**
 * @module routes/audit
 * Reading and verifying the audit log: a tenant owner their tenant's chain, the service admin
 * the service chain (or a tenant's) and every chain's verification.
 */
import {
  AuditList,
  AuditQuery,
  AuditVerifyResponse,
  MAX_AUDIT_PAGE,
  ROUTES,
  type AuditEntry,
} from '@coffer/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SERVICE_CHAIN } from '../audit/chain.js';
import { listChains, verifyChain } from '../audit/verify.js';
import type { AuditLogTable } from '../db/schema.js';
import { requireUser } from '../plugins/auth.js';
import { HttpError } from '../plugins/errors.js';

const DEFAULT_PAGE = 500;

function entryView(row: AuditLogTable): AuditEntry {
  const entry: AuditEntry = {
    seq: row.seq,
    at: new Date(row.at).toISOString(),
    actor: { kind: row.actor_kind },
    action: row.action,
    method: row.method,
    route: row.route,
    resource: JSON.parse(row.resource) as Record<string, string>,
    address: row.address,
    status: row.status,
    hash: row.hash,
  };
  if (row.actor_token !== null) entry.actor.tokenId = row.actor_token;
  if (row.actor_agent !== null) entry.actor.agentId = row.actor_agent;
  if (row.actor_name !== null) entry.actor.name = row.actor_name;
  if (row.vault_id !== null) entry.vaultId = row.vault_id;
  if (row.error_code !== null) entry.error = row.error_code;
  return entry;
}

/** The chain the caller may read: its tenant's (owner), or any (service admin). */
function readableChain(request: FastifyRequest, tenant: string | undefined): string {
  if (request.principal?.kind === 'admin') return tenant ?? SERVICE_CHAIN;
  const user = requireUser(request, 'administer');
  if (tenant !== undefined && tenant !== user.tenantId) {
    throw new HttpError('NOT_FOUND', `no tenant ${tenant}`);
  }
  return user.tenantId;
}

/** Registers the audit routes. */
export function auditRoutes(app: FastifyInstance): void {
  const { db } = app.vault;

  app.get(
    ROUTES.audit,
    { schema: { querystring: AuditQuery, response: { 200: AuditList } } },
    async (request) => {
      const query = request.query as AuditQuery;
      const chain = readableChain(request, query.tenant);
      const limit = Math.max(1, Math.min(Number(query.limit ?? DEFAULT_PAGE), MAX_AUDIT_PAGE));
      const since = query.since === undefined ? undefined : Date.parse(query.since);
      let after = Number(query.after ?? 0);
      if (query.after === undefined && since !== undefined) {
        // Start at the first entry of that time (index on chain, at) rather than scan from #1.
        const first = await db
          .selectFrom('audit_log')
          .select((eb) => eb.fn.min('seq').as('seq'))
          .where('chain', '=', chain)
          .where('at', '>=', since)
          .executeTakeFirst();
        if (first?.seq === null || first?.seq === undefined) return { chain, entries: [] };
        after = Number(first.seq) - 1;
      }
      let rows = db.selectFrom('audit_log').selectAll().where('chain', '=', chain);
      if (since !== undefined) rows = rows.where('at', '>=', since);
      const page = await rows
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(limit + 1)
        .execute();
      const entries = page.slice(0, limit).map(entryView);
      const list: AuditList = { chain, entries };
      if (page.length > limit) list.next = entries.at(-1)!.seq;
      return list;
    },
  );

  app.get(
    ROUTES.auditVerify,
    { schema: { response: { 200: AuditVerifyResponse } } },
    async (request) => {
      const chains =
        request.principal?.kind === 'admin'
          ? await listChains(db)
          : [requireUser(request, 'administer').tenantId];
      const reports = [];
      for (const chain of chains) reports.push(await verifyChain(db, chain));
      return { ok: reports.every((r) => r.ok), chains: reports };
    },
  );
}
