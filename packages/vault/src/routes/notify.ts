/**
 * @module routes/notify
 * A vault's notification targets (a signed webhook, e-mail recipients) and a test send.
 * The webhook secret is stored as given, because it signs; it is never returned or logged.
 */
import {
  EntityId,
  NotifySettings,
  NotifyTestResult,
  ROUTES,
  SetNotifyRequest,
  roleAllows,
} from '@coffer/api';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { postWebhook, webhookOrigin } from '../alerts/webhook.js';
import type { NotifyTargetTable } from '../db/schema.js';
import { requireUser, userVault } from '../plugins/auth.js';
import { HttpError } from '../plugins/errors.js';
import { newEntityId } from '../secrets.js';

const VaultParams = Type.Object({ vault: EntityId });

function checkWebhookUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new HttpError('BAD_REQUEST', `webhook ${url.slice(0, 80)}: not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new HttpError('BAD_REQUEST', 'webhooks must be http:// or https:// URLs');
  }
}

/** Registers the notification routes. */
export function notifyRoutes(app: FastifyInstance): void {
  const { db } = app.vault;

  function view(
    vaultId: string,
    row: NotifyTargetTable | undefined,
    full: boolean,
  ): NotifySettings {
    const url = row?.webhook_url ?? null;
    return {
      vaultId,
      webhook: url === null ? null : { url: full ? url : webhookOrigin(url), secret: 'set' },
      emails: row ? (JSON.parse(row.emails) as string[]) : [],
      mail: app.vault.mailer !== undefined,
    };
  }

  async function targets(vaultId: string): Promise<NotifyTargetTable | undefined> {
    return db
      .selectFrom('notify_targets')
      .selectAll()
      .where('vault_id', '=', vaultId)
      .executeTakeFirst();
  }

  app.get(
    ROUTES.vaultNotify,
    { schema: { params: VaultParams, response: { 200: NotifySettings } } },
    async (request) => {
      const { vault: vaultId } = request.params as { vault: string };
      const vault = await userVault(app, request, vaultId, 'read');
      // Readers see only the webhook's origin: a webhook's path is often its own secret.
      const full = roleAllows(requireUser(request, 'read').role, 'write');
      return view(vault.id, await targets(vault.id), full);
    },
  );

  app.put(
    ROUTES.vaultNotify,
    { schema: { params: VaultParams, body: SetNotifyRequest, response: { 200: NotifySettings } } },
    async (request) => {
      const { vault: vaultId } = request.params as { vault: string };
      const vault = await userVault(app, request, vaultId, 'write');
      const body = request.body as SetNotifyRequest;
      if (body.webhook) checkWebhookUrl(body.webhook.url);
      const now = app.vault.now();
      const change: Partial<NotifyTargetTable> = { updated_at: now };
      if (body.webhook !== undefined) {
        change.webhook_url = body.webhook?.url ?? null;
        change.webhook_secret = body.webhook?.secret ?? null;
      }
      if (body.emails !== undefined) change.emails = JSON.stringify(body.emails);
      await db
        .insertInto('notify_targets')
        .values({
          vault_id: vault.id,
          tenant_id: vault.tenant_id,
          webhook_url: change.webhook_url ?? null,
          webhook_secret: change.webhook_secret ?? null,
          emails: change.emails ?? '[]',
          updated_at: now,
        })
        .onConflict((oc) => oc.column('vault_id').doUpdateSet(change))
        .execute();
      return view(vault.id, await targets(vault.id), true);
    },
  );

  app.post(
    ROUTES.vaultNotifyTest,
    { schema: { params: VaultParams, response: { 200: NotifyTestResult } } },
    async (request) => {
      const { vault: vaultId } = request.params as { vault: string };
      const vault = await userVault(app, request, vaultId, 'write');
      const row = await targets(vault.id);
      const results: NotifyTestResult['results'] = [];
      const at = new Date(app.vault.now()).toISOString();
      const attempt = async (
        channel: 'webhook' | 'email',
        target: string,
        send: () => Promise<void>,
      ): Promise<void> => {
        try {
          await send();
          results.push({ channel, target, ok: true });
        } catch (error) {
          results.push({
            channel,
            target,
            ok: false,
            error: (error as Error).message.slice(0, 300),
          });
        }
      };
      if (row?.webhook_url && row.webhook_secret) {
        const deliveryId = newEntityId('dl');
        const { webhook_url: url, webhook_secret: secret } = row;
        await attempt('webhook', webhookOrigin(url), () =>
          postWebhook({
            url,
            secret,
            deliveryId,
            timestamp: Math.floor(app.vault.now() / 1000),
            body: JSON.stringify({
              type: 'test',
              delivery: deliveryId,
              vaultId: vault.id,
              vaultName: vault.name,
              at,
            }),
          }),
        );
      }
      for (const email of row ? (JSON.parse(row.emails) as string[]) : []) {
        const { mailer } = app.vault;
        await attempt('email', email, async () => {
          if (!mailer) throw new Error('this vault has no SMTP server (coffer vault serve --smtp)');
          await mailer.send({
            to: email,
            subject: `[Coffer] test notification from vault ${vault.name}`,
            text: `This is a test of the notifications of Coffer vault ${vault.name} (${vault.id}), sent at ${at}.\n`,
          });
        });
      }
      return { results };
    },
  );
}
