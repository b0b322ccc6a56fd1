/**
 * @module routes/items
 * Protected items. An agent creates its own (`coffer protect`, with its paths sealed by its
 * keyring) and may give one a policy while it has none; changing or removing an item's policy
 * needs a tenant user with the write role, so a stolen agent cannot weaken its protection.
 * "Back up now" queues a backup unless one is queued or running already.
 */
import {
  BackupNowResponse,
  EntityId,
  Item,
  ItemList,
  ItemQuery,
  ProtectRequest,
  ROUTES,
  UpdateItemRequest,
  type PolicySpec,
} from '@coffer/api';
import type { FastifyInstance } from 'fastify';
import { checkRetentionChange } from '../history/retention-change.js';
import type { Kysely } from 'kysely';
import { Type } from 'typebox';
import type { Database, PolicyTable } from '../db/schema.js';
import { itemsWithStatus, itemView, lastJobs } from '../items/item-view.js';
import { ensureItem } from '../items/ensure-item.js';
import { jobView } from '../jobs/job-view.js';
import { startBackup } from '../jobs/queue.js';
import { followingSlot, SCHEDULER_TASK } from '../lifecycle/scheduler.js';
import { requireAgent, userVault } from '../plugins/auth.js';
import { HttpError } from '../plugins/errors.js';
import { accessibleItem, agentInScope } from '../plugins/resource-access.js';

/** A policy of vault `vaultId` named by id or name, or 404. */
async function findPolicy(
  db: Kysely<Database>,
  vaultId: string,
  spec: string,
): Promise<PolicyTable> {
  const rows = await db
    .selectFrom('policies')
    .selectAll()
    .where('vault_id', '=', vaultId)
    .where((eb) => eb.or([eb('id', '=', spec), eb('name', '=', spec)]))
    .execute();
  const row = rows.find((r) => r.id === spec) ?? rows[0];
  if (!row) {
    throw new HttpError(
      'NOT_FOUND',
      `no policy ${spec} in this vault ('coffer policy list' shows them)`,
    );
  }
  return row;
}

/** Registers the item routes. */
export function itemRoutes(app: FastifyInstance): void {
  const { db } = app.vault;
  const ItemParams = Type.Object({ item: EntityId });

  async function viewOf(itemId: string): Promise<Item> {
    const row = await itemsWithStatus(db).where('items.id', '=', itemId).executeTakeFirstOrThrow();
    return itemView(row, await lastJobs(db, [row]), app.vault.now());
  }

  async function listView(
    rows: Awaited<ReturnType<ReturnType<typeof itemsWithStatus>['execute']>>,
  ) {
    const jobs = await lastJobs(db, rows);
    const now = app.vault.now();
    return { items: rows.map((row) => itemView(row, jobs, now)) };
  }

  app.get(
    ROUTES.vaultItems,
    {
      schema: {
        params: Type.Object({ vault: EntityId }),
        querystring: ItemQuery,
        response: { 200: ItemList },
      },
    },
    async (request) => {
      const { vault: vaultId } = request.params as { vault: string };
      const { agent } = request.query as { agent?: string };
      const vault = await userVault(app, request, vaultId, 'read');
      let query = itemsWithStatus(db).where('items.vault_id', '=', vault.id);
      if (agent !== undefined) query = query.where('items.agent_id', '=', agent);
      return listView(await query.orderBy('items.agent_id').orderBy('items.name').execute());
    },
  );

  app.get(
    ROUTES.agentItems,
    { schema: { params: Type.Object({ agent: EntityId }), response: { 200: ItemList } } },
    async (request) => {
      const { agent: agentId } = request.params as { agent: string };
      const agent = await agentInScope(app, request, agentId);
      return listView(
        await itemsWithStatus(db)
          .where('items.agent_id', '=', agent.id)
          .orderBy('items.name')
          .execute(),
      );
    },
  );

  app.post(
    ROUTES.agentItems,
    {
      schema: {
        params: Type.Object({ agent: EntityId }),
        body: ProtectRequest,
        response: { 200: Item, 201: Item },
      },
    },
    async (request, reply) => {
      const { agent: agentId } = request.params as { agent: string };
      const self = requireAgent(request);
      if (self.id !== agentId) throw new HttpError('NOT_FOUND', `no agent ${agentId}`);
      const body = request.body as ProtectRequest;
      const now = app.vault.now();
      const policy = body.policy ? await findPolicy(db, self.vault_id, body.policy) : undefined;
      const before = await db
        .selectFrom('items')
        .select(['id', 'policy_id'])
        .where('agent_id', '=', self.id)
        .where('name', '=', body.name)
        .executeTakeFirst();
      if (before?.policy_id && policy && policy.id !== before.policy_id) {
        throw new HttpError(
          'FORBIDDEN',
          `item ${body.name} has a policy already; changing it needs a tenant user with the write role ('coffer item set ${body.name} --policy ${policy.name}')`,
        );
      }
      const item = await ensureItem(db, self, body.name, now);
      const stopped = await db
        .selectFrom('items')
        .select('stopped_at')
        .where('id', '=', item.id)
        .executeTakeFirst();
      if (policy && stopped?.stopped_at != null) {
        throw new HttpError(
          'FORBIDDEN',
          `protection of item ${body.name} was stopped; only a tenant user with the write role can protect it again ('coffer item set ${body.name} --policy ${policy.name}')`,
        );
      }
      const attach = policy && !item.policy_id;
      await db
        .updateTable('items')
        .set({ sources: body.sources, updated_at: now })
        .where('id', '=', item.id)
        .execute();
      if (attach) {
        // Only while it still has no policy: a user may be setting one at this moment.
        await db
          .updateTable('items')
          .set({
            policy_id: policy.id,
            next_slot_at: followingSlot(
              JSON.parse(policy.spec) as PolicySpec,
              now,
              item.last_slot_at,
            ),
          })
          .where('id', '=', item.id)
          .where('policy_id', 'is', null)
          .execute();
      }
      if (attach) app.vault.lifecycle.wake(SCHEDULER_TASK);
      return reply.status(before ? 200 : 201).send(await viewOf(item.id));
    },
  );

  app.get(
    ROUTES.item,
    { schema: { params: ItemParams, response: { 200: Item } } },
    async (request) => {
      const { item: itemId } = request.params as { item: string };
      const item = await accessibleItem(app, request, itemId, 'read');
      return viewOf(item.id);
    },
  );

  app.patch(
    ROUTES.item,
    { schema: { params: ItemParams, body: UpdateItemRequest, response: { 200: Item } } },
    async (request) => {
      const { item: itemId } = request.params as { item: string };
      const { policy: spec } = request.body as { policy: string | null };
      const isAgent = request.principal?.kind === 'agent';
      const item = await accessibleItem(app, request, itemId, 'write');
      const policy = spec === null ? undefined : await findPolicy(db, item.vault_id, spec);
      if (isAgent && (item.policy_id !== null || !policy || item.stopped_at != null)) {
        throw new HttpError(
          'FORBIDDEN',
          item.stopped_at != null
            ? `protection of item ${item.name} was stopped; only a tenant user with the write role can protect it again`
            : `an agent may only give a policy to an item that has none; changing or removing item ${item.name}'s policy needs a tenant user with the write role`,
        );
      }
      // Moving an item to a policy that keeps less applies to its existing points.
      const current =
        item.policy_id !== null && policy && policy.id !== item.policy_id
          ? await db
              .selectFrom('policies')
              .select('spec')
              .where('id', '=', item.policy_id)
              .executeTakeFirst()
          : undefined;
      const shortening =
        current && policy
          ? await checkRetentionChange(
              app,
              request,
              item.vault_id,
              JSON.parse(current.spec) as PolicySpec,
              JSON.parse(policy.spec) as PolicySpec,
              `item ${item.name}`,
            )
          : undefined;
      const now = app.vault.now();
      let update = db
        .updateTable('items')
        .set({
          policy_id: policy?.id ?? null,
          next_slot_at: policy
            ? followingSlot(JSON.parse(policy.spec) as PolicySpec, now, item.last_slot_at)
            : null,
          updated_at: now,
          // A user giving a stopped item a policy protects it again.
          ...(policy ? { stopped_at: null } : {}),
        })
        .where('id', '=', item.id);
      if (isAgent) update = update.where('policy_id', 'is', null).where('stopped_at', 'is', null);
      const updated = await update.executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) {
        throw new HttpError('FORBIDDEN', `item ${item.name} was given a policy meanwhile`);
      }
      await shortening?.(db);
      app.vault.lifecycle.wake(SCHEDULER_TASK);
      return viewOf(item.id);
    },
  );

  app.post(
    ROUTES.itemBackup,
    {
      schema: { params: ItemParams, response: { 200: BackupNowResponse, 201: BackupNowResponse } },
    },
    async (request, reply) => {
      const { item: itemId } = request.params as { item: string };
      const item = await accessibleItem(app, request, itemId, 'operate');
      if (item.sources === null) {
        throw new HttpError(
          'BAD_REQUEST',
          `item ${item.name} has no paths the agent could back up on its own; run 'coffer protect PATH... --item ${item.name}' on that machine first`,
        );
      }
      const { job, created } = await startBackup(db, item, 'on-demand', app.vault.now());
      if (created) app.jobSignals.signal(item.agent_id);
      return reply
        .status(created ? 201 : 200)
        .send({ job: jobView({ ...job, item_name: item.name }), alreadyRunning: !created });
    },
  );
}
