import { ROUTES, route, type Alert, type AlertList, type NotifySettings } from '@coffer/api';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDatabase, type TestDb } from '../../cli/test/e2e/harness.js';
import { DELIVERY_RETRY, deliverDue, retryDelay } from '../src/alerts/delivery-task.js';
import { raiseAlert, resolveAlerts, type AlertInput } from '../src/alerts/raise.js';
import { auth, makeVault, type InProcessVault } from './in-process-vault.js';

const SECRET = 'a-webhook-secret-of-some-length';

/** A webhook receiver on loopback that answers with the statuses it is given, then 200. */
async function receiver(): Promise<{
  url: string;
  received: Array<{ headers: Record<string, string>; body: string }>;
  answers: number[];
  close(): Promise<void>;
}> {
  const received: Array<{ headers: Record<string, string>; body: string }> = [];
  const answers: number[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers as Record<string, string>, body });
      res.statusCode = answers.shift() ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/coffer-secret-path`,
    received,
    answers,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`alerts and notifications (${dialect})`, () => {
    let testDb: TestDb | undefined;
    let v: InProcessVault;
    let hook: Awaited<ReturnType<typeof receiver>>;
    let owner: string;
    let tenantId: string;
    let otherOwner: string;
    let vaultId: string;
    let secondVault: string;
    const tokens: Record<string, string> = {};

    async function call(
      method: 'GET' | 'POST' | 'PUT',
      url: string,
      token: string,
      payload?: object,
    ) {
      return v.app.inject({ method, url, headers: auth(token), ...(payload ? { payload } : {}) });
    }
    const problem = (subject: string): AlertInput => ({
      tenantId,
      vaultId,
      kind: 'backup.failed',
      subject,
      severity: 'critical',
      message: `backup of ${subject} failed`,
    });
    const alerts = async (query = '') =>
      (await call('GET', `${ROUTES.alerts}${query}`, owner)).json<AlertList>().alerts;
    const deliveries = (alertId: string) =>
      v.meta.db
        .selectFrom('alert_deliveries')
        .selectAll()
        .where('alert_id', '=', alertId)
        .execute();

    beforeAll(async () => {
      testDb = dialect === 'postgres' ? await createPgDatabase() : undefined;
      v = await makeVault({ dbUrl: testDb?.url });
      hook = await receiver();
      const t = (await call('POST', ROUTES.tenants, v.admin, { name: 'acme' })).json<{
        token: string;
        tenant: { id: string };
      }>();
      owner = t.token;
      tenantId = t.tenant.id;
      otherOwner = (await call('POST', ROUTES.tenants, v.admin, { name: 'other' })).json<{
        token: string;
      }>().token;
      vaultId = (await call('POST', ROUTES.vaults, owner, { name: 'main' })).json<{ id: string }>()
        .id;
      secondVault = (await call('POST', ROUTES.vaults, owner, { name: 'second' })).json<{
        id: string;
      }>().id;
      for (const role of ['reader', 'operator', 'contributor'] as const) {
        tokens[role] = (await call('POST', ROUTES.tokens, owner, { name: role, role })).json<{
          token: string;
        }>().token;
      }
      // Those token creations raised alerts before any target was set: no deliveries.
      expect(await v.meta.db.selectFrom('alert_deliveries').selectAll().execute()).toEqual([]);
    });

    afterAll(async () => {
      await hook?.close();
      await v?.close();
      await testDb?.drop();
    });

    it('lets writers set targets, shows readers only the webhook origin, and never returns the secret', async () => {
      const url = route(ROUTES.vaultNotify, { vault: vaultId });
      const body = { webhook: { url: hook.url, secret: SECRET }, emails: ['ops@example.com'] };
      expect((await call('PUT', url, tokens.reader!, body)).statusCode).toBe(403);
      expect((await call('PUT', url, tokens.operator!, body)).statusCode).toBe(403);
      expect((await call('PUT', url, otherOwner, body)).statusCode).toBe(404);
      const bad = await call('PUT', url, owner, {
        webhook: { url: 'ftp://example.com/x', secret: SECRET },
      });
      expect(bad.statusCode).toBe(400);
      expect((await call('PUT', url, owner, { emails: ['not an address'] })).statusCode).toBe(400);
      const set = await call('PUT', url, tokens.contributor!, body);
      expect(set.statusCode).toBe(200);
      expect(set.body).not.toContain(SECRET);
      expect(set.json<NotifySettings>()).toEqual({
        vaultId,
        webhook: { url: hook.url, secret: 'set' },
        emails: ['ops@example.com'],
        mail: false,
      });
      const asReader = (await call('GET', url, tokens.reader!)).json<NotifySettings>();
      expect(asReader.webhook).toEqual({ url: new URL(hook.url).origin + '/…', secret: 'set' });
      // Changing only the e-mails leaves the webhook; the second vault gets the same webhook.
      await call('PUT', url, owner, { emails: ['ops@example.com', 'oncall@example.com'] });
      expect((await call('GET', url, owner)).json<NotifySettings>().webhook?.url).toBe(hook.url);
      await call('PUT', route(ROUTES.vaultNotify, { vault: secondVault }), owner, {
        webhook: { url: hook.url, secret: SECRET },
      });
    });

    it('keeps one alert per problem: raising it again counts, resolving closes it, the next one is new', async () => {
      const first = await raiseAlert(v.app.vault, problem('item-1'));
      const again = await raiseAlert(v.app.vault, problem('item-1'));
      expect(again).toEqual({ id: first.id, count: 2 });
      const listed = (await alerts()).filter((a) => a.subject === 'item-1');
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatchObject({ count: 2, state: 'open', vaultId, kind: 'backup.failed' });
      // Delivered once per alert, not per increment: a webhook and two e-mails.
      expect((await deliveries(first.id)).map((d) => [d.channel, d.target]).sort()).toEqual([
        ['email', 'oncall@example.com'],
        ['email', 'ops@example.com'],
        ['webhook', hook.url],
      ]);

      // Raised at once from many requests (or vault instances): still one alert.
      const burst = await Promise.all(
        Array.from({ length: 10 }, () => raiseAlert(v.app.vault, problem('item-2'))),
      );
      expect(new Set(burst.map((b) => b.id)).size).toBe(1);
      expect(burst.map((b) => b.count).sort((a, b) => a - b)).toEqual([
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
      ]);

      expect(await resolveAlerts(v.app.vault, problem('item-1'))).toBe(1);
      expect(await resolveAlerts(v.app.vault, problem('item-1'))).toBe(0);
      const next = await raiseAlert(v.app.vault, problem('item-1'));
      expect(next.id).not.toBe(first.id);
      expect(next.count).toBe(1);
      const states = (await alerts()).filter((a) => a.subject === 'item-1').map((a) => a.state);
      expect(states.sort()).toEqual(['open', 'resolved']);
      expect((await alerts('?state=resolved')).map((a) => a.id)).toEqual([first.id]);
    });

    it('sends a tenant-wide alert once to each distinct target of every vault', async () => {
      const created = await call('POST', ROUTES.tokens, owner, {
        name: 'backup-ci',
        role: 'operator',
      });
      const tokenId = created.json<{ id: string }>().id;
      const alert = (await alerts()).find((a) => a.subject === tokenId)!;
      expect(alert).toMatchObject({ kind: 'token.created', severity: 'warning', state: 'open' });
      expect(alert.vaultId).toBeUndefined();
      expect(alert.message).toContain('backup-ci');
      // Both vaults have the same webhook: one delivery to it.
      expect(alert.deliveries.map((d) => [d.channel, d.target]).sort()).toEqual([
        ['email', 'oncall@example.com'],
        ['email', 'ops@example.com'],
        ['webhook', new URL(hook.url).origin + '/…'],
      ]);
    });

    it('delivers with a verifiable signature, retries with backoff and shows each delivery state', async () => {
      await v.meta.db.deleteFrom('alert_deliveries').execute();
      const raised = await raiseAlert(v.app.vault, problem('item-3'));
      hook.received.length = 0;
      hook.answers.push(500, 503);
      const webhook = async () =>
        (await deliveries(raised.id)).find((d) => d.channel === 'webhook')!;

      // Both runs of a second instance at the same moment: each delivery is attempted once.
      await Promise.all([deliverDue(v.app.vault), deliverDue(v.app.vault)]);
      expect(hook.received).toHaveLength(1);
      expect(await webhook()).toMatchObject({
        state: 'pending',
        attempts: 1,
        last_error: 'webhook answered HTTP 500',
      });
      // E-mail without an SMTP server cannot succeed by retrying.
      const mail = (await deliveries(raised.id)).filter((d) => d.channel === 'email');
      expect(mail.map((d) => [d.state, d.attempts])).toEqual([
        ['failed', 1],
        ['failed', 1],
      ]);
      expect(mail[0]!.last_error).toMatch(/no SMTP server/);

      expect(await deliverDue(v.app.vault)).toBe(0); // not due before its backoff
      v.clock.now += retryDelay(1);
      await deliverDue(v.app.vault);
      expect(await webhook()).toMatchObject({
        state: 'pending',
        attempts: 2,
        last_error: 'webhook answered HTTP 503',
      });
      v.clock.now += retryDelay(2);
      await deliverDue(v.app.vault);
      expect(await webhook()).toMatchObject({ state: 'delivered', attempts: 3, last_error: null });
      expect(hook.received).toHaveLength(3);

      const { headers, body } = hook.received[2]!;
      const expected = createHmac('sha256', SECRET)
        .update(`${headers['x-coffer-timestamp']}.${body}`)
        .digest('hex');
      expect(headers['x-coffer-signature']).toBe(`sha256=${expected}`);
      expect(headers['x-coffer-timestamp']).toBe(String(Math.floor(v.clock.now / 1000)));
      const payload = JSON.parse(body) as {
        type: string;
        delivery: string;
        alert: Alert & { vaultName: string };
      };
      expect(payload).toMatchObject({
        type: 'alert',
        alert: { id: raised.id, vaultName: 'main', kind: 'backup.failed' },
      });
      expect(headers['x-coffer-delivery']).toBe(payload.delivery);

      const shown = (await alerts()).find((a) => a.id === raised.id)!;
      expect(shown.deliveries.find((d) => d.channel === 'webhook')).toMatchObject({
        state: 'delivered',
        attempts: 3,
      });
    });

    it('gives up after the last attempt, and never signs for a webhook that was replaced', async () => {
      await v.meta.db.deleteFrom('alert_deliveries').execute();
      const raised = await raiseAlert(v.app.vault, problem('item-4'));
      hook.answers.push(...Array.from({ length: DELIVERY_RETRY.attempts }, () => 500));
      for (let attempt = 1; attempt <= DELIVERY_RETRY.attempts; attempt++) {
        await deliverDue(v.app.vault);
        v.clock.now += retryDelay(attempt);
      }
      const [failed] = (await deliveries(raised.id)).filter((d) => d.channel === 'webhook');
      expect(failed).toMatchObject({ state: 'failed', attempts: DELIVERY_RETRY.attempts });
      expect(await deliverDue(v.app.vault)).toBe(0);

      const replaced = await raiseAlert(v.app.vault, problem('item-5'));
      await call('PUT', route(ROUTES.vaultNotify, { vault: vaultId }), owner, {
        webhook: { url: `${hook.url}-new`, secret: SECRET },
      });
      hook.received.length = 0;
      await deliverDue(v.app.vault);
      const [stale] = (await deliveries(replaced.id)).filter((d) => d.channel === 'webhook');
      expect(stale).toMatchObject({ state: 'failed' });
      expect(stale!.last_error).toMatch(/changed or removed/);
      expect(hook.received).toHaveLength(0);
    });

    it('lets operators acknowledge, readers list, and no other tenant see or touch an alert', async () => {
      const raised = await raiseAlert(v.app.vault, problem('item-6'));
      const ack = route(ROUTES.alertAck, { alert: raised.id });
      expect((await call('GET', ROUTES.alerts, tokens.reader!)).statusCode).toBe(200);
      expect((await call('POST', ack, tokens.reader!)).statusCode).toBe(403);
      expect((await call('POST', ack, otherOwner)).statusCode).toBe(404);
      expect((await call('GET', ROUTES.alerts, otherOwner)).json<AlertList>().alerts).toEqual([]);
      expect((await call('GET', `${ROUTES.alerts}?vault=${vaultId}`, otherOwner)).statusCode).toBe(
        404,
      );
      const done = await call('POST', ack, tokens.operator!);
      expect(done.statusCode).toBe(200);
      expect(done.json<Alert>()).toMatchObject({
        state: 'acknowledged',
        acknowledgedBy: 'operator',
      });
      // Raised again while acknowledged: still the same alert, counted.
      expect(await raiseAlert(v.app.vault, problem('item-6'))).toEqual({ id: raised.id, count: 2 });
      expect((await alerts(`?state=acknowledged&vault=${vaultId}`)).map((a) => a.id)).toEqual([
        raised.id,
      ]);
    });
  });
}
