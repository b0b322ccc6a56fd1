/**
 * @module routes/access
 * Seeing and ending access: tenants and tokens listed, tokens revoked, machines removed, grants
 * revoked and empty vaults deleted. A token, agent or vault of another tenant answers 404.
 */
import { EntityId, ROUTES, TenantList, TokenList } from '@coffer/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { Type } from 'typebox';
import { deleteKeyrings } from '../blob-index/index.js';
import { packPrefix } from '../pack-keys.js';
import { requireAdmin, requireUser, userVault } from '../plugins/auth.js';
import { HttpError } from '../plugins/errors.js';
import type { AgentTable } from '../db/schema.js';
import { tenantView, tokenView } from '../views.js';

const COUNT = sql<number>`count(*)`.as('n');

/** The count a `select(COUNT)` query answers (PostgreSQL's bigint arrives as a number). */
async function countRows(query: { executeTakeFirstOrThrow(): Promise<{ n: number }> }) {
  return Number((await query.executeTakeFirstOrThrow()).n);
}

/** Registers the access lifecycle routes. */
export function accessRoutes(app: FastifyInstance): void {
  const { db } = app.vault;

  /** The agent `agentId` of the user's own tenant, or 404. */
  async function tenantAgent(
    request: FastifyRequest,
    agentId: string,
    action: 'write',
  ): Promise<AgentTable> {
    const user = requireUser(request, action);
    const agent = await db
      .selectFrom('agents')
      .selectAll()
      .where('id', '=', agentId)
      .where('tenant_id', '=', user.tenantId)
      .executeTakeFirst();
    if (!agent) throw new HttpError('NOT_FOUND', `no agent ${agentId} in this tenant`);
    return agent;
  }

  app.get(ROUTES.tenants, { schema: { response: { 200: TenantList } } }, async (request) => {
    requireAdmin(request);
    const rows = await db.selectFrom('tenants').selectAll().orderBy('name').execute();
    return { tenants: rows.map(tenantView) };
  });

  app.get(ROUTES.tokens, { schema: { response: { 200: TokenList } } }, async (request) => {
    const user = requireUser(request, 'administer');
    const rows = await db
      .selectFrom('tokens')
      .select(['id', 'name', 'role', 'created_at', 'expires_at', 'revoked_at'])
      .where('kind', '=', 'user')
      .where('tenant_id', '=', user.tenantId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return { tokens: rows.map(tokenView) };
  });

  app.delete(
    ROUTES.token,
    { schema: { params: Type.Object({ token: EntityId }) } },
    async (request, reply) => {
      const user = requireUser(request, 'administer');
      const { token: tokenId } = request.params as { token: string };
      const now = app.vault.now();
      await db.transaction().execute(async (trx) => {
        // Revocations of one tenant take turns, so two of them cannot each leave the other as
        // the last owner token and together lock the tenant out.
        await trx
          .updateTable('tenants')
          .set((eb) => ({ name: eb.ref('name') }))
          .where('id', '=', user.tenantId)
          .execute();
        const token = await trx
          .selectFrom('tokens')
          .selectAll()
          .where('id', '=', tokenId)
          .where('kind', '=', 'user')
          .where('tenant_id', '=', user.tenantId)
          .executeTakeFirst();
        if (!token) throw new HttpError('NOT_FOUND', `no token ${tokenId} in this tenant`);
        if (token.revoked_at != null) return;
        if (token.role === 'owner') {
          const others = await countRows(
            trx
              .selectFrom('tokens')
              .select(COUNT)
              .where('kind', '=', 'user')
              .where('tenant_id', '=', user.tenantId)
              .where('role', '=', 'owner')
              .where('id', '!=', tokenId)
              .where('revoked_at', 'is', null)
              .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)])),
          );
          if (others === 0) {
            throw new HttpError(
              'LAST_OWNER_TOKEN',
              `${token.name} is the tenant's last owner token; create another one first ('coffer token create NAME --role owner')`,
            );
          }
        }
        await trx
          .updateTable('tokens')
          .set({ revoked_at: now })
          .where('id', '=', tokenId)
          .execute();
      });
      return reply.status(204).send();
    },
  );

  app.delete(
    ROUTES.agent,
    { schema: { params: Type.Object({ agent: EntityId }) } },
    async (request, reply) => {
      const { agent: agentId } = request.params as { agent: string };
      const agent = await tenantAgent(request, agentId, 'write');
      if (agent.removed_at != null) return reply.status(204).send();
      const now = app.vault.now();
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('agents')
          .set({ removed_at: now })
          .where('id', '=', agent.id)
          .execute();
        await trx
          .updateTable('tokens')
          .set({ revoked_at: now })
          .where('agent_id', '=', agent.id)
          .where('revoked_at', 'is', null)
          .execute();
        // What it was allowed to read goes; what others may read of its points stays.
        await trx.deleteFrom('grants').where('grantee_id', '=', agent.id).execute();
      });
      return reply.status(204).send();
    },
  );

  app.delete(
    ROUTES.agentGrant,
    { schema: { params: Type.Object({ agent: EntityId, grantee: EntityId }) } },
    async (request, reply) => {
      const { agent: agentId, grantee } = request.params as { agent: string; grantee: string };
      const agent = await tenantAgent(request, agentId, 'write');
      const result = await db
        .deleteFrom('grants')
        .where('agent_id', '=', agent.id)
        .where('grantee_id', '=', grantee)
        .executeTakeFirst();
      if (result.numDeletedRows === 0n) {
        throw new HttpError('NOT_FOUND', `agent ${grantee} has no grant to read agent ${agentId}`);
      }
      return reply.status(204).send();
    },
  );

  app.delete(
    ROUTES.vault,
    { schema: { params: Type.Object({ vault: EntityId }) } },
    async (request, reply) => {
      const { vault: vaultId } = request.params as { vault: string };
      const vault = await userVault(app, request, vaultId, 'administer');
      const keyrings = await db.transaction().execute(async (trx) => {
        // Taken first, so that a commit or registration racing the checks below waits for it.
        await trx
          .updateTable('vaults')
          .set((eb) => ({ name: eb.ref('name') }))
          .where('id', '=', vault.id)
          .execute();
        const points = await countRows(
          trx.selectFrom('points').select(COUNT).where('vault_id', '=', vault.id),
        );
        if (points > 0) {
          throw new HttpError(
            'VAULT_NOT_EMPTY',
            `vault ${vault.name} holds ${points} recovery point(s); it can be deleted once none is left`,
          );
        }
        const active = await countRows(
          trx
            .selectFrom('agents')
            .select(COUNT)
            .where('vault_id', '=', vault.id)
            .where('removed_at', 'is', null),
        );
        if (active > 0) {
          throw new HttpError(
            'VAULT_NOT_EMPTY',
            `${active} machine(s) are registered in vault ${vault.name}; remove them first ('coffer agent remove AGENT')`,
          );
        }
        const agents = trx.selectFrom('agents').select('id').where('vault_id', '=', vault.id);
        const rings = trx.selectFrom('keyrings').select('id').where('vault_id', '=', vault.id);
        const ids = (await rings.execute()).map((r) => r.id);
        await trx
          .deleteFrom('grants')
          .where((eb) => eb.or([eb('agent_id', 'in', agents), eb('grantee_id', 'in', agents)]))
          .execute();
        await trx.deleteFrom('tokens').where('agent_id', 'in', agents).execute();
        await deleteKeyrings(trx, ids);
        await trx.deleteFrom('agents').where('vault_id', '=', vault.id).execute();
        await trx.deleteFrom('keyrings').where('vault_id', '=', vault.id).execute();
        await trx.deleteFrom('registrations').where('vault_id', '=', vault.id).execute();
        // Its protection and notifications go with it; the audit log keeps its entries.
        await trx.deleteFrom('jobs').where('vault_id', '=', vault.id).execute();
        await trx.deleteFrom('items').where('vault_id', '=', vault.id).execute();
        await trx.deleteFrom('policies').where('vault_id', '=', vault.id).execute();
        const alerts = trx.selectFrom('alerts').select('id').where('vault_id', '=', vault.id);
        await trx.deleteFrom('alert_deliveries').where('alert_id', 'in', alerts).execute();
        await trx.deleteFrom('alerts').where('vault_id', '=', vault.id).execute();
        await trx.deleteFrom('notify_targets').where('vault_id', '=', vault.id).execute();
        await trx.deleteFrom('vaults').where('id', '=', vault.id).execute();
        return ids;
      });
      // The rows are gone, so nothing refers to these packs any more (no point was left).
      for (const keyring of keyrings) {
        for await (const object of app.vault.store.list(packPrefix(keyring))) {
          await app.vault.store.delete(object.key).catch((error: unknown) => {
            request.log.error({ err: error, key: object.key }, 'cannot delete a pack');
          });
        }
      }
      return reply.status(204).send();
    },
  );
}
