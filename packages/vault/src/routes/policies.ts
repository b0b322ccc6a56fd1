/**
 * @module routes/policies
 * Policies of a vault: created, changed and deleted by tenant users with the write role (not
 * operators, not readers, not agents), read by tenant users and by the agents whose items use
 * them. A change applies to every item that uses the policy, from its next slot on.
 */
import {
  CreatePolicyRequest,
  EntityId,
  Policy,
  PolicyList,
  ROUTES,
  UpdatePolicyRequest,
  type PolicySpec,
} from '@coffer/api';
import { CofferError, validatePolicy } from '@coffer/core';
import type { FastifyInstance } from 'fastify';
import { checkRetentionChange } from '../history/retention-change.js';
import type { Kysely } from 'kysely';
import { Type } from 'typebox';
import type { Database, PolicyTable } from '../db/schema.js';
import { isUniqueViolation } from '../db/unique-violation.js';
import { userVault } from '../plugins/auth.js';
import { HttpError } from '../plugins/errors.js';
import { accessiblePolicy } from '../plugins/resource-access.js';
import { reschedulePolicy, SCHEDULER_TASK } from '../lifecycle/scheduler.js';
import { newEntityId } from '../secrets.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** Checks a policy's meaning; a bad one is a 400 POLICY_INVALID naming the field. */
function checkSpec(spec: PolicySpec): void {
  try {
    validatePolicy(spec);
  } catch (error) {
    if (error instanceof CofferError) throw new HttpError('POLICY_INVALID', error.message);
    throw error;
  }
}

async function itemCounts(db: Kysely<Database>, ids: string[]): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('items')
    .select(['policy_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('policy_id', 'in', ids)
    .groupBy('policy_id')
    .execute();
  return new Map(rows.map((r) => [r.policy_id!, Number(r.n)]));
}

function policyView(row: PolicyTable, items: number): Policy {
  return {
    id: row.id,
    vaultId: row.vault_id,
    name: row.name,
    spec: JSON.parse(row.spec) as PolicySpec,
    items,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** Registers the policy routes. */
export function policyRoutes(app: FastifyInstance): void {
  const { db } = app.vault;
  const PolicyParams = Type.Object({ policy: EntityId });

  app.post(
    ROUTES.vaultPolicies,
    {
      schema: {
        params: Type.Object({ vault: EntityId }),
        body: CreatePolicyRequest,
        response: { 201: Policy },
      },
    },
    async (request, reply) => {
      const { vault: vaultId } = request.params as { vault: string };
      const vault = await userVault(app, request, vaultId, 'write');
      const body = request.body as { name: string; spec: PolicySpec };
      checkSpec(body.spec);
      const now = app.vault.now();
      const row: PolicyTable = {
        id: newEntityId('pl'),
        vault_id: vault.id,
        name: body.name,
        spec: JSON.stringify(body.spec),
        created_at: now,
        updated_at: now,
      };
      try {
        await db.insertInto('policies').values(row).execute();
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new HttpError(
            'ALREADY_EXISTS',
            `vault ${vault.name} has a policy named ${body.name} already; choose another name or change it with 'coffer policy set'`,
          );
        }
        throw error;
      }
      return reply.status(201).send(policyView(row, 0));
    },
  );

  app.get(
    ROUTES.vaultPolicies,
    { schema: { params: Type.Object({ vault: EntityId }), response: { 200: PolicyList } } },
    async (request) => {
      const { vault: vaultId } = request.params as { vault: string };
      const vault = await userVault(app, request, vaultId, 'read');
      const rows = await db
        .selectFrom('policies')
        .selectAll()
        .where('vault_id', '=', vault.id)
        .orderBy('name')
        .execute();
      const counts = await itemCounts(
        db,
        rows.map((r) => r.id),
      );
      return { policies: rows.map((r) => policyView(r, counts.get(r.id) ?? 0)) };
    },
  );

  app.get(
    ROUTES.policy,
    { schema: { params: PolicyParams, response: { 200: Policy } } },
    async (request) => {
      const { policy: id } = request.params as { policy: string };
      const row = await accessiblePolicy(app, request, id, 'read');
      return policyView(row, (await itemCounts(db, [row.id])).get(row.id) ?? 0);
    },
  );

  app.put(
    ROUTES.policy,
    { schema: { params: PolicyParams, body: UpdatePolicyRequest, response: { 200: Policy } } },
    async (request) => {
      const { policy: id } = request.params as { policy: string };
      const row = await accessiblePolicy(app, request, id, 'write');
      const { spec } = request.body as { spec: PolicySpec };
      checkSpec(spec);
      const now = app.vault.now();
      const updated = { ...row, spec: JSON.stringify(spec), updated_at: now };
      const shortening = await checkRetentionChange(
        app,
        request,
        row.vault_id,
        JSON.parse(row.spec) as PolicySpec,
        spec,
        `policy ${row.name}`,
      );
      await db.transaction().execute(async (trx) => {
        await shortening?.(trx);
        await trx
          .updateTable('policies')
          .set({ spec: updated.spec, updated_at: now })
          .where('id', '=', row.id)
          .execute();
        await reschedulePolicy(trx, row.id, spec, now);
      });
      app.vault.lifecycle.wake(SCHEDULER_TASK);
      return policyView(updated, (await itemCounts(db, [row.id])).get(row.id) ?? 0);
    },
  );

  app.delete(ROUTES.policy, { schema: { params: PolicyParams } }, async (request, reply) => {
    const { policy: id } = request.params as { policy: string };
    const row = await accessiblePolicy(app, request, id, 'write');
    // One statement, so an item cannot be given the policy between a check and the delete.
    const deleted = await db
      .deleteFrom('policies')
      .where('id', '=', row.id)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('items')
              .select('items.id')
              .whereRef('items.policy_id', '=', 'policies.id'),
          ),
        ),
      )
      .executeTakeFirst();
    if (Number(deleted.numDeletedRows) !== 1) {
      const used = (await itemCounts(db, [row.id])).get(row.id) ?? 0;
      throw new HttpError(
        'IN_USE',
        `policy ${row.name} protects ${used} item(s); give them another policy first ('coffer item set ITEM --policy P')`,
      );
    }
    return reply.status(204).send();
  });
}
