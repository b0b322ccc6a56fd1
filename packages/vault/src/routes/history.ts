/**
 * @module routes/history
 * What decides how long history lives (docs/history.md): a vault's soft-delete and immutability
 * settings, deleting and undeleting recovery points, stopping an item's protection, and running
 * expiry now. An agent credential may change none of it (a stolen machine cannot destroy
 * history); an immutable vault refuses the destructive ones to everybody, the service admin too.
 */
import {
  ALERT_KINDS,
  DEFAULT_SOFT_DELETE_DAYS,
  EntityId,
  ExpireResponse,
  HexId,
  MIN_ALWAYS_ON_SOFT_DELETE_DAYS,
  Point,
  ROUTES,
  StopProtectionRequest,
  StopProtectionResponse,
  VaultSettings,
  VaultSettingsRequest,
  type Action,
  type PolicySpec,
} from '@coffer/api';
import { selectRetention } from '@coffer/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { raiseAlert } from '../alerts/raise.js';
import type { VaultTable } from '../db/schema.js';
import { EXPIRE_TASK } from '../history/expire-task.js';
import { assertMutable } from '../history/immutability.js';
import { softDeletePoints, undeletePoint } from '../history/soft-delete.js';
import { jobView } from '../jobs/job-view.js';
import { insertJob } from '../jobs/queue.js';
import { userVault } from '../plugins/auth.js';
import { HttpError } from '../plugins/errors.js';
import { accessibleItem } from '../plugins/resource-access.js';
import { SCHEDULER_TASK } from '../lifecycle/scheduler.js';
import { pointView } from '../views.js';

const VaultParams = Type.Object({ vault: EntityId });
const PointParams = Type.Object({ vault: EntityId, point: HexId });
const ItemParams = Type.Object({ item: EntityId });
const DAY_MS = 86_400_000;

/** Refuses an agent credential: what it tried is audited like every call. */
function refuseAgent(request: FastifyRequest, what: string): void {
  if (request.principal?.kind === 'agent') {
    throw new HttpError(
      'FORBIDDEN',
      `an agent credential may not ${what}: history is the vault's to keep; a tenant user with the write role can`,
    );
  }
}

/** Settings as the API shows them. */
function settingsView(vault: VaultTable): VaultSettings {
  return {
    vaultId: vault.id,
    softDeleteDays: vault.soft_delete_days ?? DEFAULT_SOFT_DELETE_DAYS,
    softDeleteAlwaysOn: vault.soft_delete_always_on === 1,
    immutability: vault.immutability ?? 'off',
  };
}

/** Registers the history routes. */
export function historyRoutes(app: FastifyInstance): void {
  const { db } = app.vault;

  /**
   * The vault for a tenant user allowed `action`, or for the service admin (who may try, and is
   * refused by an immutable vault like anyone); an agent is refused.
   */
  async function vaultFor(
    request: FastifyRequest,
    vaultId: string,
    action: Action,
    what: string,
  ): Promise<VaultTable> {
    refuseAgent(request, what);
    if (request.principal?.kind === 'admin') {
      const vault = await db
        .selectFrom('vaults')
        .selectAll()
        .where('id', '=', vaultId)
        .executeTakeFirst();
      if (!vault) throw new HttpError('NOT_FOUND', `no vault ${vaultId}`);
      return vault;
    }
    return userVault(app, request, vaultId, action);
  }

  /** Who a point's deletion names: the token's name, or the service admin. */
  async function actorName(request: FastifyRequest): Promise<string> {
    const p = request.principal;
    if (!p) return 'anonymous';
    if (p.kind === 'admin') return 'service admin';
    const token = await db
      .selectFrom('tokens')
      .select('name')
      .where('id', '=', p.tokenId)
      .executeTakeFirst();
    return token?.name ?? p.tokenId;
  }

  app.get(
    ROUTES.vaultSettings,
    { schema: { params: VaultParams, response: { 200: VaultSettings } } },
    async (request) => {
      const { vault: vaultId } = request.params as { vault: string };
      if (request.principal?.kind === 'agent') {
        // An agent may read its own vault's settings (the daemon can show them).
        if (request.principal.agent.vault_id !== vaultId) {
          throw new HttpError('NOT_FOUND', `no vault ${vaultId}`);
        }
        return settingsView(
          await db
            .selectFrom('vaults')
            .selectAll()
            .where('id', '=', vaultId)
            .executeTakeFirstOrThrow(),
        );
      }
      return settingsView(await vaultFor(request, vaultId, 'read', 'read settings'));
    },
  );

  app.patch(
    ROUTES.vaultSettings,
    {
      schema: { params: VaultParams, body: VaultSettingsRequest, response: { 200: VaultSettings } },
    },
    async (request) => {
      const { vault: vaultId } = request.params as { vault: string };
      const body = request.body as VaultSettingsRequest;
      const vault = await vaultFor(request, vaultId, 'administer', "change a vault's settings");
      const before = settingsView(vault);
      const alwaysOn = before.softDeleteAlwaysOn || body.softDeleteAlwaysOn === true;
      let days = body.softDeleteDays ?? before.softDeleteDays;
      if (body.softDeleteAlwaysOn && body.softDeleteDays === undefined) {
        days = Math.max(days, MIN_ALWAYS_ON_SOFT_DELETE_DAYS);
      }
      if (alwaysOn && days < MIN_ALWAYS_ON_SOFT_DELETE_DAYS) {
        throw new HttpError(
          'BAD_REQUEST',
          `soft delete is always on in vault ${vault.name}: its period cannot go below ${MIN_ALWAYS_ON_SOFT_DELETE_DAYS} days (asked ${days}), nor be turned off`,
        );
      }
      const immutability = body.immutability ?? before.immutability;
      if (before.immutability === 'locked' && immutability !== 'locked') {
        throw new HttpError(
          'IMMUTABLE',
          `vault ${vault.name} is immutable and locked: immutability cannot be turned off or unlocked, by anyone (owner and service admin included)`,
        );
      }
      const shortened = days < before.softDeleteDays;
      if (shortened) assertMutable(vault, 'lower the soft-delete period');
      const after: VaultSettings = {
        vaultId: vault.id,
        softDeleteDays: days,
        softDeleteAlwaysOn: alwaysOn,
        immutability,
      };
      const by = await actorName(request);
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('vaults')
          .set({
            soft_delete_days: days,
            soft_delete_always_on: alwaysOn ? 1 : 0,
            immutability,
          })
          .where('id', '=', vault.id)
          .execute();
        const critical = (kind: string, message: string) =>
          raiseAlert(
            app.vault,
            {
              tenantId: vault.tenant_id,
              vaultId: vault.id,
              kind,
              subject: vault.id,
              severity: 'critical',
              message,
            },
            trx,
          );
        if (shortened) {
          await critical(
            ALERT_KINDS.softDeleteShortened,
            `the soft-delete period of vault ${vault.name} was lowered from ${before.softDeleteDays} to ${days} days by ${by}`,
          );
        }
        if (immutability !== before.immutability) {
          await critical(
            ALERT_KINDS.immutabilityChanged,
            `immutability of vault ${vault.name} changed from ${before.immutability} to ${immutability} by ${by}`,
          );
        }
      });
      return after;
    },
  );

  app.post(
    ROUTES.vaultExpire,
    { schema: { params: VaultParams, response: { 201: ExpireResponse } } },
    async (request, reply) => {
      const { vault: vaultId } = request.params as { vault: string };
      refuseAgent(request, 'run expiry');
      const vault = await userVault(app, request, vaultId, 'operate');
      const job = await insertJob(
        db,
        {
          tenant_id: vault.tenant_id,
          vault_id: vault.id,
          kind: 'expire',
          trigger: 'on-demand',
          state: 'queued',
        },
        app.vault.now(),
      );
      app.vault.lifecycle.wake(EXPIRE_TASK);
      return reply.status(201).send({ job: jobView(job!) });
    },
  );

  app.delete(
    ROUTES.vaultPoint,
    { schema: { params: PointParams, response: { 200: Point } } },
    async (request) => {
      const { vault: vaultId, point: pointId } = request.params as { vault: string; point: string };
      const vault = await vaultFor(request, vaultId, 'write', 'delete a recovery point');
      const point = await db
        .selectFrom('points')
        .selectAll()
        .where('vault_id', '=', vault.id)
        .where('id', '=', pointId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (!point)
        throw new HttpError('NOT_FOUND', `no recovery point ${pointId} in vault ${vault.name}`);
      if (
        (vault.immutability ?? 'off') !== 'off' &&
        !(await retentionExpires(point.item_id, pointId))
      ) {
        assertMutable(vault, `delete recovery point ${pointId} before its expiry`);
      }
      const now = app.vault.now();
      const days = vault.soft_delete_days ?? DEFAULT_SOFT_DELETE_DAYS;
      await softDeletePoints(
        db,
        { vaultId: vault.id, ids: [pointId] },
        { reason: 'deleted', by: await actorName(request), now, softDeleteDays: days },
      );
      return pointView({
        ...point,
        deleted_at: now,
        purge_at: now + days * DAY_MS,
        delete_reason: 'deleted',
      });
    },
  );

  /** Whether the item's policy expires the point now (so an immutable vault may delete it). */
  async function retentionExpires(itemId: string | null, pointId: string): Promise<boolean> {
    if (itemId === null) return false;
    const item = await db
      .selectFrom('items')
      .innerJoin('policies', 'policies.id', 'items.policy_id')
      .select('policies.spec')
      .where('items.id', '=', itemId)
      .executeTakeFirst();
    // Without a policy nothing expires: its points are kept until someone deletes them.
    if (!item) return false;
    const spec = JSON.parse(item.spec) as PolicySpec;
    const points = await db
      .selectFrom('points')
      .select(['id', 'created_at'])
      .where('item_id', '=', itemId)
      .where('deleted_at', 'is', null)
      .execute();
    const decision = selectRetention(
      spec.retention,
      spec.schedule.timeZone,
      points.map((p) => ({ id: p.id, time: Number(p.created_at), outcome: 'succeeded' as const })),
      app.vault.now(),
    );
    return decision.expire.includes(pointId);
  }

  app.post(
    ROUTES.vaultPointUndelete,
    { schema: { params: PointParams, response: { 200: Point } } },
    async (request) => {
      const { vault: vaultId, point: pointId } = request.params as { vault: string; point: string };
      const vault = await vaultFor(request, vaultId, 'write', 'undelete a recovery point');
      if (!(await undeletePoint(db, vault.id, pointId))) {
        const live = await db
          .selectFrom('points')
          .select('id')
          .where('vault_id', '=', vault.id)
          .where('id', '=', pointId)
          .executeTakeFirst();
        throw live
          ? new HttpError('BAD_REQUEST', `recovery point ${pointId} is not deleted`)
          : new HttpError(
              'NOT_FOUND',
              `no deleted recovery point ${pointId} in vault ${vault.name} (purged points cannot come back)`,
            );
      }
      const row = await db
        .selectFrom('points')
        .selectAll()
        .where('vault_id', '=', vault.id)
        .where('id', '=', pointId)
        .executeTakeFirstOrThrow();
      return pointView(row);
    },
  );

  app.post(
    ROUTES.itemStop,
    {
      schema: {
        params: ItemParams,
        body: StopProtectionRequest,
        response: { 200: StopProtectionResponse },
      },
    },
    async (request) => {
      const { item: itemId } = request.params as { item: string };
      const deleteData = (request.body as StopProtectionRequest).deleteData === true;
      refuseAgent(request, 'stop protection');
      const item = await accessibleItem(app, request, itemId, 'write');
      const vault = await db
        .selectFrom('vaults')
        .selectAll()
        .where('id', '=', item.vault_id)
        .executeTakeFirstOrThrow();
      if (deleteData)
        assertMutable(vault, `stop protection of item ${item.name} and delete its data`);
      const now = app.vault.now();
      const by = await actorName(request);
      const pointsDeleted = await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('items')
          .set({ policy_id: null, next_slot_at: null, stopped_at: now, updated_at: now })
          .where('id', '=', item.id)
          .execute();
        if (!deleteData) return 0;
        const count = await softDeletePoints(
          trx,
          { itemId: item.id },
          {
            reason: 'protection-stopped',
            by,
            now,
            softDeleteDays: vault.soft_delete_days ?? DEFAULT_SOFT_DELETE_DAYS,
          },
        );
        await raiseAlert(
          app.vault,
          {
            tenantId: vault.tenant_id,
            vaultId: vault.id,
            kind: ALERT_KINDS.protectionStopped,
            subject: item.id,
            severity: 'critical',
            message: `protection of item ${item.name} was stopped and its ${count} recovery point(s) deleted by ${by}; undelete them within ${vault.soft_delete_days ?? DEFAULT_SOFT_DELETE_DAYS} days`,
          },
          trx,
        );
        return count;
      });
      app.vault.lifecycle.wake(SCHEDULER_TASK);
      return { itemId: item.id, stoppedAt: new Date(now).toISOString(), pointsDeleted };
    },
  );
}
