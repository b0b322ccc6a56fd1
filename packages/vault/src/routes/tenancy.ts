/**
 * @module routes/tenancy
 * Tenants, user tokens, vaults, registration credentials, agents and grants.
 */
import {
  ALERT_KINDS,
  AgentList,
  BODY_LIMITS,
  CREDENTIALS_LIFETIME_MS,
  CreateGrantRequest,
  CreateTenantRequest,
  CreateTenantResponse,
  CreateTokenRequest,
  CreateTokenResponse,
  CreateVaultRequest,
  EntityId,
  KeyringResponse,
  PointList,
  PointListQuery,
  RegisterRequest,
  RegisterResponse,
  CreateCredentialsRequest,
  ROUTES,
  Vault,
  VaultCredentials,
  VaultList,
  WhoAmI,
} from '@coffer/api';
import { parseKeyring } from '@coffer/core';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { Value } from 'typebox/value';
import { isUniqueViolation } from '../db/unique-violation.js';
import { HttpError } from '../plugins/errors.js';
import { readableAgent, requireAdmin, requireUser, userVault } from '../plugins/auth.js';
import { hashSecret, newEntityId, newSecret } from '../secrets.js';
import { raiseAlert } from '../alerts/raise.js';
import { noteAudit } from '../audit/hook.js';
import { agentView, pointView, tenantView, tokenView, vaultView } from '../views.js';
import { admitToKeyring } from '../keyring-admission.js';

const VaultParams = Type.Object({ vault: EntityId });
const AgentParams = Type.Object({ agent: EntityId });

/** Registers the tenancy routes. */
export function tenancyRoutes(app: FastifyInstance): void {
  const { db } = app.vault;

  app.get(ROUTES.whoami, { schema: { response: { 200: WhoAmI } } }, async (request) => {
    const p = request.principal;
    if (!p) throw new HttpError('UNAUTHENTICATED', 'this route needs a token');
    if (p.kind === 'admin') return { kind: 'admin' as const };
    if (p.kind === 'user') return { kind: 'user' as const, tenantId: p.tenantId, role: p.role };
    return {
      kind: 'agent' as const,
      tenantId: p.tenantId,
      agent: agentView(p.agent, app.vault.now()),
    };
  });

  app.post(
    ROUTES.tenants,
    { schema: { body: CreateTenantRequest, response: { 201: CreateTenantResponse } } },
    async (request, reply) => {
      requireAdmin(request);
      const { name } = request.body as { name: string };
      const now = app.vault.now();
      const tenant = { id: newEntityId('tn'), name, created_at: now };
      const token = newSecret('cft_user');
      try {
        await db.transaction().execute(async (trx) => {
          await trx.insertInto('tenants').values(tenant).execute();
          await trx
            .insertInto('tokens')
            .values({
              id: newEntityId('tk'),
              hash: hashSecret(token),
              kind: 'user',
              tenant_id: tenant.id,
              role: 'owner',
              agent_id: null,
              name: `${name} owner`,
              created_at: now,
            })
            .execute();
        });
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new HttpError('ALREADY_EXISTS', `a tenant named ${name} exists already`);
        }
        throw error;
      }
      return reply.status(201).send({ tenant: tenantView(tenant), token });
    },
  );

  app.post(
    ROUTES.tokens,
    { schema: { body: CreateTokenRequest, response: { 201: CreateTokenResponse } } },
    async (request, reply) => {
      const user = requireUser(request, 'administer');
      const body = request.body as CreateTokenRequest;
      const token = newSecret('cft_user');
      const now = app.vault.now();
      const row = {
        id: newEntityId('tk'),
        hash: hashSecret(token),
        kind: 'user' as const,
        tenant_id: user.tenantId,
        role: body.role,
        agent_id: null,
        name: body.name,
        created_at: now,
        expires_at: body.expiresInSeconds === undefined ? null : now + body.expiresInSeconds * 1000,
      };
      try {
        await db.transaction().execute(async (trx) => {
          await trx.insertInto('tokens').values(row).execute();
          const message = `a ${body.role} token "${body.name}" (${row.id}) was created`;
          const alert = { tenantId: user.tenantId, vaultId: null, subject: row.id, message };
          await raiseAlert(
            app.vault,
            { ...alert, kind: ALERT_KINDS.tokenCreated, severity: 'warning' },
            trx,
          );
        });
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new HttpError(
            'ALREADY_EXISTS',
            `this tenant has a token named ${body.name} already; choose another name or revoke that one`,
          );
        }
        throw error;
      }
      return reply.status(201).send({ ...tokenView(row), token });
    },
  );

  app.post(
    ROUTES.vaults,
    { schema: { body: CreateVaultRequest, response: { 201: Vault } } },
    async (request, reply) => {
      const user = requireUser(request, 'write');
      const { name } = request.body as { name: string };
      const vault = {
        id: newEntityId('vt'),
        tenant_id: user.tenantId,
        name,
        created_at: app.vault.now(),
      };
      try {
        await db.insertInto('vaults').values(vault).execute();
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new HttpError('ALREADY_EXISTS', `this tenant has a vault named ${name} already`);
        }
        throw error;
      }
      return reply.status(201).send(vaultView(vault));
    },
  );

  app.get(ROUTES.vaults, { schema: { response: { 200: VaultList } } }, async (request) => {
    const user = requireUser(request, 'read');
    const rows = await db
      .selectFrom('vaults')
      .selectAll()
      .where('tenant_id', '=', user.tenantId)
      .orderBy('name')
      .execute();
    return { vaults: rows.map(vaultView) };
  });

  app.post(
    ROUTES.vaultCredentials,
    { schema: { params: VaultParams, response: { 201: VaultCredentials } } },
    async (request, reply) => {
      const { vault: vaultId } = request.params as { vault: string };
      // The body is optional (plain credentials send none), so it is checked here.
      const body = request.body ?? {};
      if (!Value.Check(CreateCredentialsRequest, body)) {
        throw new HttpError('BAD_REQUEST', 'expected {"joinKeyring": KEYRING_ID} or no body');
      }
      const joinKeyring = body.joinKeyring ?? null;
      // Letting a machine into a keyring without proof is a grant: it needs the write role.
      const vault = await userVault(app, request, vaultId, joinKeyring ? 'write' : 'operate');
      if (joinKeyring) {
        const keyring = await db
          .selectFrom('keyrings')
          .select('id')
          .where('id', '=', joinKeyring)
          .where('vault_id', '=', vault.id)
          .executeTakeFirst();
        if (!keyring) throw new HttpError('NOT_FOUND', `no keyring ${joinKeyring} in this vault`);
      }
      const secret = newSecret('cfr');
      const now = app.vault.now();
      const expiresAt = now + CREDENTIALS_LIFETIME_MS;
      await db
        .insertInto('registrations')
        .values({
          id: newEntityId('rg'),
          vault_id: vault.id,
          secret_hash: hashSecret(secret),
          expires_at: expiresAt,
          used_at: null,
          created_at: now,
          join_keyring_id: joinKeyring,
        })
        .execute();
      return reply.status(201).send({
        format: 'coffer-vault-credentials' as const,
        version: 1 as const,
        url: app.vault.publicUrl,
        fingerprint: app.vault.fingerprint,
        tenantId: vault.tenant_id,
        vaultId: vault.id,
        vaultName: vault.name,
        secret,
        expiresAt: new Date(expiresAt).toISOString(),
        ...(joinKeyring ? { joinKeyringId: joinKeyring } : {}),
      });
    },
  );

  app.get(
    ROUTES.vaultAgents,
    { schema: { params: VaultParams, response: { 200: AgentList } } },
    async (request) => {
      const { vault: vaultId } = request.params as { vault: string };
      const vault = await userVault(app, request, vaultId, 'read');
      const rows = await db
        .selectFrom('agents')
        .selectAll()
        .where('vault_id', '=', vault.id)
        .orderBy('created_at')
        .execute();
      return { agents: rows.map((row) => agentView(row, app.vault.now())) };
    },
  );

  app.get(
    ROUTES.vaultPoints,
    {
      schema: { params: VaultParams, querystring: PointListQuery, response: { 200: PointList } },
    },
    async (request) => {
      const { vault: vaultId } = request.params as { vault: string };
      const query = request.query as PointListQuery;
      const vault = await userVault(app, request, vaultId, 'read');
      let rows = db.selectFrom('points').selectAll().where('vault_id', '=', vault.id);
      if (query.item !== undefined) rows = rows.where('item', '=', query.item);
      rows = rows.where('deleted_at', query.deleted === 'true' ? 'is not' : 'is', null);
      return { points: (await rows.orderBy('end_time').execute()).map(pointView) };
    },
  );

  app.post(
    ROUTES.agentGrants,
    {
      schema: {
        params: Type.Object({ vault: EntityId, agent: EntityId }),
        body: CreateGrantRequest,
      },
    },
    async (request, reply) => {
      const { vault: vaultId, agent: agentId } = request.params as { vault: string; agent: string };
      const vault = await userVault(app, request, vaultId, 'write');
      const { grantee } = request.body as { grantee: string };
      const agents = await db
        .selectFrom('agents')
        .select(['id', 'removed_at'])
        .where('vault_id', '=', vault.id)
        .where('id', 'in', [agentId, grantee])
        .execute();
      const removed = agents.find((a) => a.id === grantee && a.removed_at != null);
      if (removed) throw new HttpError('NOT_FOUND', `agent ${grantee} was removed`);
      if (agents.length !== (agentId === grantee ? 1 : 2)) {
        throw new HttpError(
          'NOT_FOUND',
          `agents ${agentId} and ${grantee} must both be in vault ${vault.id}`,
        );
      }
      await db
        .insertInto('grants')
        .values({ agent_id: agentId, grantee_id: grantee, created_at: app.vault.now() })
        .onConflict((oc) => oc.columns(['agent_id', 'grantee_id']).doNothing())
        .execute();
      return reply.status(204).send();
    },
  );

  app.post(
    ROUTES.register,
    {
      config: { public: true },
      bodyLimit: BODY_LIMITS.register,
      schema: { body: RegisterRequest, response: { 201: RegisterResponse } },
    },
    async (request, reply) => {
      const body = request.body as RegisterRequest;
      const keyring = parseKeyring(body.keyring);
      const now = app.vault.now();
      const token = newSecret('cft_agent');
      const result = await db.transaction().execute(async (trx) => {
        // Claiming the secret and creating the agent is one transaction: a secret works once.
        const claimed = await trx
          .updateTable('registrations')
          .set({ used_at: now })
          .where('secret_hash', '=', hashSecret(body.secret))
          .where('used_at', 'is', null)
          .where('expires_at', '>', now)
          .returning(['vault_id', 'join_keyring_id'])
          .executeTakeFirst();
        if (!claimed) {
          const row = await trx
            .selectFrom('registrations')
            .selectAll()
            .where('secret_hash', '=', hashSecret(body.secret))
            .executeTakeFirst();
          if (!row)
            throw new HttpError(
              'UNAUTHENTICATED',
              'these vault credentials are not known to this vault',
            );
          if (row.used_at !== null) {
            throw new HttpError(
              'CREDENTIALS_USED',
              'these vault credentials were used already; download new ones',
            );
          }
          throw new HttpError(
            'CREDENTIALS_EXPIRED',
            'these vault credentials have expired (48 h); download new ones',
          );
        }
        const vault = await trx
          .selectFrom('vaults')
          .selectAll()
          .where('id', '=', claimed.vault_id)
          .executeTakeFirstOrThrow();
        await admitToKeyring(trx, { vault, keyring, body, grant: claimed.join_keyring_id, now });
        const agent = {
          id: newEntityId('ag'),
          vault_id: vault.id,
          tenant_id: vault.tenant_id,
          name: body.name,
          hostname: body.hostname,
          keyring_id: keyring.id,
          created_at: now,
          last_contact_at: null,
          agent_version: null,
        };
        await trx.insertInto('agents').values(agent).execute();
        await trx
          .insertInto('tokens')
          .values({
            id: newEntityId('tk'),
            hash: hashSecret(token),
            kind: 'agent',
            tenant_id: vault.tenant_id,
            role: null,
            agent_id: agent.id,
            name: `agent ${body.name}`,
            created_at: now,
          })
          .execute();
        return { agent, vault };
      });
      noteAudit(request, {
        tenantId: result.vault.tenant_id,
        vaultId: result.vault.id,
        agent: result.agent,
      });
      return reply
        .status(201)
        .send({ agent: agentView(result.agent, now), token, vault: vaultView(result.vault) });
    },
  );

  app.get(
    ROUTES.agentKeyring,
    { schema: { params: AgentParams, response: { 200: KeyringResponse } } },
    async (request) => {
      const { agent: agentId } = request.params as { agent: string };
      const agent = await readableAgent(app, request, agentId);
      const row = await db
        .selectFrom('keyrings')
        .selectAll()
        .where('id', '=', agent.keyring_id)
        .executeTakeFirstOrThrow();
      return { keyringId: row.id, keyring: row.json };
    },
  );

  app.get(
    ROUTES.agentPoints,
    {
      schema: {
        params: AgentParams,
        querystring: PointListQuery,
        response: { 200: PointList },
      },
    },
    async (request) => {
      const { agent: agentId } = request.params as { agent: string };
      const { item, deleted } = request.query as PointListQuery;
      const agent = await readableAgent(app, request, agentId);
      let query = db.selectFrom('points').selectAll().where('agent_id', '=', agent.id);
      if (item !== undefined) query = query.where('item', '=', item);
      // Soft-deleted points are hidden from listings, and so from restores (docs/history.md).
      query = query.where('deleted_at', deleted === 'true' ? 'is not' : 'is', null);
      const rows = await query.orderBy('end_time').execute();
      return { points: rows.map(pointView) };
    },
  );
}
