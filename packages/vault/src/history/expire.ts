/**
 * @module history/expire
 * The vault's expiry of one vault: each item's policy, through core's `selectRetention`, decides
 * on the item's live points by their commit times on the vault's clock (never the times an agent
 * wrote in a manifest); what it expires is soft-deleted. Then the points whose soft-delete
 * period has passed are purged. docs/history.md §Expiry.
 */
import { DEFAULT_SOFT_DELETE_DAYS, type ExpireResult, type PolicySpec } from '@coffer/api';
import { selectRetention, type RetentionCandidate } from '@coffer/core';
import type { VaultContext } from '../context.js';
import { purgePoints, softDeletePoints } from './soft-delete.js';

/** Who the audit of a point's deletion names when expiry deleted it. */
export const EXPIRY_ACTOR = 'expiry';

/** The outcome retention sees: a committed point is successful, with or without warnings. */
function outcomeOf(stats: string): RetentionCandidate['outcome'] {
  const parsed = JSON.parse(stats) as { warnings?: number };
  return (parsed.warnings ?? 0) > 0 ? 'warnings' : 'succeeded';
}

/**
 * Expires and purges the points of vault `vaultId` at the vault's `now`; `beat` is called
 * between items so a long run keeps its job alive.
 */
export async function expireVault(
  ctx: Pick<VaultContext, 'db' | 'now'>,
  vaultId: string,
  beat: () => Promise<void> = () => Promise.resolve(),
): Promise<ExpireResult> {
  const { db } = ctx;
  const vault = await db
    .selectFrom('vaults')
    .select(['soft_delete_days'])
    .where('id', '=', vaultId)
    .executeTakeFirstOrThrow();
  const items = await db
    .selectFrom('items')
    .innerJoin('policies', 'policies.id', 'items.policy_id')
    .select(['items.id', 'policies.spec'])
    .where('items.vault_id', '=', vaultId)
    .orderBy('items.id')
    .execute();
  let expired = 0;
  for (const item of items) {
    const spec = JSON.parse(item.spec) as PolicySpec;
    const points = await db
      .selectFrom('points')
      .select(['id', 'created_at', 'stats'])
      .where('item_id', '=', item.id)
      .where('deleted_at', 'is', null)
      .execute();
    if (points.length === 0) continue;
    // One `now` per item, read after its points: a point committed meanwhile is not among them.
    const now = ctx.now();
    const decision = selectRetention(
      spec.retention,
      spec.schedule.timeZone,
      points.map((p) => ({ id: p.id, time: Number(p.created_at), outcome: outcomeOf(p.stats) })),
      now,
    );
    if (decision.expire.length > 0) {
      expired += await softDeletePoints(
        db,
        { vaultId, ids: decision.expire },
        {
          reason: 'expired',
          by: EXPIRY_ACTOR,
          now,
          softDeleteDays: vault.soft_delete_days ?? DEFAULT_SOFT_DELETE_DAYS,
        },
      );
    }
    await beat();
  }
  const purged = await purgePoints(db, vaultId, ctx.now());
  return { items: items.length, expired, purged };
}
