/**
 * @module alerts/delivery-task
 * The outbox worker: sends pending alert deliveries (webhook, e-mail), retrying failures with
 * exponential backoff. Rows are claimed with a compare-and-set and a lease, so several vault
 * instances on one PostgreSQL never send the same attempt twice, and a delivery held by an
 * instance that died is taken over when its lease ends.
 */
import type { ExpressionBuilder } from 'kysely';
import type { VaultContext } from '../context.js';
import type { AlertDeliveryTable, Database } from '../db/schema.js';
import { newEntityId } from '../secrets.js';
import { mailMessage, webhookBody } from './message.js';
import { postWebhook } from './webhook.js';

/** The lifecycle task's name; `raiseAlert` wakes it. */
export const DELIVERY_TASK = 'alert-deliveries';

/** Retry schedule: 1 s, 2 s, 4 s… capped at an hour; 15 attempts span about four hours. */
export const DELIVERY_RETRY = {
  firstMs: 1000,
  maxMs: 3600_000,
  attempts: 15,
  /** How long an attempt may hold its delivery before another instance may take it. */
  leaseMs: 120_000,
  /** Deliveries sent at once per run. */
  batch: 20,
} as const;

/** The wait after the `attempts`-th failed attempt. */
export function retryDelay(attempts: number): number {
  return Math.min(DELIVERY_RETRY.maxMs, DELIVERY_RETRY.firstMs * 2 ** (attempts - 1));
}

type DeliveryContext = Pick<VaultContext, 'db' | 'now' | 'mailer' | 'lifecycle'>;

/** Pending, due, and not held by a live claim. */
function due(now: number) {
  return (eb: ExpressionBuilder<Database, 'alert_deliveries'>) =>
    eb.and([
      eb('state', '=', 'pending'),
      eb('next_attempt_at', '<=', now),
      eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]),
    ]);
}

/** Sends what is due; resolves to the number of deliveries attempted. */
export async function deliverDue(ctx: DeliveryContext): Promise<number> {
  const now = ctx.now();
  const rows = await ctx.db
    .selectFrom('alert_deliveries')
    .select(['id', 'attempts'])
    .where(due(now))
    .orderBy('next_attempt_at')
    .limit(DELIVERY_RETRY.batch)
    .execute();
  const attempted = await Promise.all(rows.map((d) => attempt(ctx, d.id, d.attempts, now)));
  return attempted.filter(Boolean).length;
}

/** One run of the lifecycle task: sends what is due, and runs again at once after a full batch. */
export async function deliveryTask(ctx: DeliveryContext): Promise<void> {
  if ((await deliverDue(ctx)) === DELIVERY_RETRY.batch) ctx.lifecycle.wake(DELIVERY_TASK);
}

async function attempt(
  ctx: DeliveryContext,
  id: string,
  attempts: number,
  now: number,
): Promise<boolean> {
  const claim = newEntityId('cl');
  const claimed = await ctx.db
    .updateTable('alert_deliveries')
    .set({
      claim,
      claimed_until: now + DELIVERY_RETRY.leaseMs,
      attempts: attempts + 1,
      last_attempt_at: now,
    })
    .where('id', '=', id)
    .where('attempts', '=', attempts)
    .where(due(now))
    .executeTakeFirst();
  if (Number(claimed.numUpdatedRows) !== 1) return false;
  const delivery = await ctx.db
    .selectFrom('alert_deliveries')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  let error: string | undefined;
  let permanent = false;
  try {
    await send(ctx, delivery);
  } catch (e) {
    error = ((e as Error).message || String(e)).slice(0, 300);
    permanent = e instanceof PermanentDeliveryError;
  }
  const finished = ctx.now();
  const gaveUp = permanent || attempts + 1 >= DELIVERY_RETRY.attempts;
  await ctx.db
    .updateTable('alert_deliveries')
    .set(
      error === undefined
        ? { state: 'delivered', delivered_at: finished, last_error: null }
        : {
            state: gaveUp ? 'failed' : 'pending',
            last_error: error,
            next_attempt_at: finished + retryDelay(attempts + 1),
          },
    )
    .set({ claim: null, claimed_until: null })
    .where('id', '=', id)
    .where('claim', '=', claim)
    .execute();
  return true;
}

/** A delivery that no retry can help (its target is gone, no SMTP server). */
class PermanentDeliveryError extends Error {}

async function send(ctx: DeliveryContext, delivery: AlertDeliveryTable): Promise<void> {
  const alert = await ctx.db
    .selectFrom('alerts')
    .selectAll()
    .where('id', '=', delivery.alert_id)
    .executeTakeFirstOrThrow();
  const vault = alert.vault_id
    ? await ctx.db
        .selectFrom('vaults')
        .select('name')
        .where('id', '=', alert.vault_id)
        .executeTakeFirst()
    : undefined;
  const vaultName = vault?.name ?? null;
  if (delivery.channel === 'email') {
    if (!ctx.mailer) {
      throw new PermanentDeliveryError(
        'this vault has no SMTP server (coffer vault serve --smtp smtp://HOST:PORT)',
      );
    }
    await ctx.mailer.send({ to: delivery.target, ...mailMessage(alert, vaultName) });
    return;
  }
  const settings = await ctx.db
    .selectFrom('notify_targets')
    .select(['webhook_url', 'webhook_secret'])
    .where('vault_id', '=', delivery.settings_vault)
    .executeTakeFirst();
  // The secret belongs to the URL it was set with; never sign for a URL that was replaced.
  if (!settings || settings.webhook_url !== delivery.target || settings.webhook_secret === null) {
    throw new PermanentDeliveryError(
      'the webhook was changed or removed since the alert was raised',
    );
  }
  await postWebhook({
    url: delivery.target,
    secret: settings.webhook_secret,
    body: webhookBody(alert, vaultName, delivery.id),
    deliveryId: delivery.id,
    timestamp: Math.floor(ctx.now() / 1000),
  });
}
