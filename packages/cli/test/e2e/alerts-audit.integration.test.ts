import { ROUTES, route, type Alert, type AlertList, type AuditList } from '@coffer/api';
import BetterSqlite3 from 'better-sqlite3';
import { createHmac } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPgDatabase,
  DIALECTS,
  json,
  registerMachine,
  runCoffer,
  setupTenant,
  tempDir,
  VaultProcess,
  waitFor,
  type TenantSetup,
  type TestDb,
} from './harness.js';
import { pinnedDispatcherForTests } from './http.js';

const SECRET = 'shared-webhook-secret-for-tests';

interface Hook {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** A webhook receiver: /hook answers 200; /flaky answers 500 twice, then 200. */
async function startReceiver(): Promise<{ url: string; hooks: Hook[]; close(): Promise<void> }> {
  const hooks: Hook[] = [];
  let flaky = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      hooks.push({ path: req.url ?? '', headers: req.headers as Record<string, string>, body });
      res.statusCode = req.url === '/flaky' && flaky++ < 2 ? 500 : 200;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hooks,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** An SMTP server from npm on a free loopback port, keeping every message it receives. */
async function startSmtp(): Promise<{
  port: number;
  mails: Array<{ to: string[]; data: string }>;
  close(): Promise<void>;
}> {
  const mails: Array<{ to: string[]; data: string }> = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      let data = '';
      stream.on('data', (d: Buffer) => (data += d.toString()));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), data });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  return {
    port: (smtp.server.address() as AddressInfo).port,
    mails,
    close: () => new Promise((resolve) => smtp.close(() => resolve())),
  };
}

describe.each(DIALECTS)('alerts, notifications and the audit log (%s metadata)', (dialect) => {
  let work: { path: string; cleanup(): Promise<void> };
  let db: TestDb | undefined;
  let vault: VaultProcess;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let http: Awaited<ReturnType<typeof pinnedDispatcherForTests>>;
  let a: TenantSetup;
  let b: TenantSetup;
  let reader: string;
  let operator: string;
  let tokenAlert: Alert;

  let fingerprint = '';
  // Pinning by fingerprint spares each command loading the vault's modules to read the cert.
  const as = (token: string) => ({ ...vault.env(token), COFFER_FINGERPRINT: fingerprint });
  // Polled often, so over HTTP; `coffer alerts --json` is checked once below.
  const alerts = async (token: string) =>
    ((await http.json('GET', ROUTES.alerts, token)) as AlertList).alerts;

  beforeAll(async () => {
    work = await tempDir('coffer-alerts-');
    db = dialect === 'postgres' ? await createPgDatabase() : undefined;
    receiver = await startReceiver();
    smtp = await startSmtp();
    vault = new VaultProcess(join(work.path, 'vault'), db?.url, [
      '--smtp',
      `smtp://127.0.0.1:${smtp.port}`,
      '--mail-from',
      'coffer@vault.test',
    ]);
    await vault.start();
    expect(vault.output).toContain(`alert e-mails through smtp://127.0.0.1:${smtp.port}`);
    fingerprint = /certificate sha256 ([0-9a-f]{64})/.exec(vault.output)![1]!;
    http = await pinnedDispatcherForTests(vault);
    a = await setupTenant(vault, 'alpha');
    b = await setupTenant(vault, 'bravo');
    const created = await runCoffer(
      ['token', 'create', 'viewer', '--role', 'reader', '--json'],
      as(a.ownerToken),
    );
    reader = json<{ secret: string }>(created).secret;
  });

  afterAll(async () => {
    await http?.close();
    await vault?.stop();
    await receiver?.close();
    await smtp?.close();
    await db?.drop();
    await work?.cleanup();
  });

  it('lets only users with the write role of the vault set its notifications', async () => {
    const denied = await runCoffer(
      ['notify', 'set', a.vaultName, '--webhook', `${receiver.url}/hook`],
      as(reader),
    );
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/role reader may not write/);
    const foreign = route(ROUTES.vaultNotify, { vault: a.vaultId });
    const body = { webhook: { url: `${receiver.url}/hook`, secret: SECRET } };
    expect(await http.status('PUT', foreign, b.ownerToken, body)).toBe(404);
    expect(await http.status('GET', foreign, b.ownerToken)).toBe(404);
    const bad = await runCoffer(
      ['notify', 'set', a.vaultName, '--webhook', 'ftp://example.com'],
      as(a.ownerToken),
    );
    expect(bad.code).toBe(2);

    const set = await runCoffer(
      [
        'notify',
        'set',
        a.vaultName,
        '--webhook',
        `${receiver.url}/hook`,
        '--secret',
        SECRET,
        '--email',
        'ops@example.com',
      ],
      as(a.ownerToken),
    );
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).not.toContain(SECRET);
    const tested = await runCoffer(['notify', 'test', a.vaultName], as(a.ownerToken));
    expect(tested.code, tested.stderr).toBe(0);
    expect(tested.stdout).toMatch(/webhook .*: sent\nemail ops@example.com: sent/);
    expect(JSON.parse(receiver.hooks[0]!.body)).toMatchObject({ type: 'test', vaultId: a.vaultId });
    expect(smtp.mails.map((m) => m.to)).toEqual([['ops@example.com']]);
    receiver.hooks.length = 0;
    smtp.mails.length = 0;
    const shown = await runCoffer(['notify', 'show', a.vaultName, '--json'], as(reader));
    expect(JSON.parse(shown.stdout)).toEqual({
      notify: {
        vaultId: a.vaultId,
        webhook: { url: `${receiver.url}/…`, secret: 'set' },
        emails: ['ops@example.com'],
        mail: true,
      },
    });
  });

  it('sends exactly one signed webhook and one e-mail for a critical operation (a token created)', async () => {
    const created = await runCoffer(
      ['token', 'create', 'night-ops', '--role', 'operator', '--json'],
      as(a.ownerToken),
    );
    const { token, secret } = json<{ token: { id: string }; secret: string }>(created);
    operator = secret;
    await waitFor('the webhook and the e-mail', () =>
      receiver.hooks.length >= 1 && smtp.mails.length >= 1 ? true : undefined,
    );
    tokenAlert = await waitFor('both deliveries to show as delivered', async () => {
      const alert = (await alerts(a.ownerToken)).find((x) => x.subject === token.id);
      return alert?.deliveries.every((d) => d.state === 'delivered') ? alert : undefined;
    });
    expect(tokenAlert).toMatchObject({ kind: 'token.created', state: 'open', count: 1 });
    expect(tokenAlert.deliveries.map((d) => [d.channel, d.attempts])).toEqual(
      expect.arrayContaining([
        ['webhook', 1],
        ['email', 1],
      ]),
    );
    // Exactly one of each, signed with the vault's secret.
    expect(receiver.hooks).toHaveLength(1);
    expect(smtp.mails).toHaveLength(1);
    const [hook] = receiver.hooks;
    const signed = createHmac('sha256', SECRET)
      .update(`${hook!.headers['x-coffer-timestamp']}.${hook!.body}`)
      .digest('hex');
    expect(hook!.headers['x-coffer-signature']).toBe(`sha256=${signed}`);
    expect(JSON.parse(hook!.body)).toMatchObject({
      type: 'alert',
      alert: { id: tokenAlert.id, kind: 'token.created' },
    });
    expect(smtp.mails[0]!.to).toEqual(['ops@example.com']);
    expect(smtp.mails[0]!.data).toContain('night-ops');
    expect(smtp.mails[0]!.data).toMatch(/From: coffer@vault\.test/);
  });

  it('retries a webhook that fails twice until it is delivered', async () => {
    const set = await runCoffer(
      ['notify', 'set', a.vaultName, '--webhook', `${receiver.url}/flaky`, '--no-email', '--json'],
      as(a.ownerToken),
    );
    const { secret } = json<{ secret: string }>(set);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { token: created } = json<{ token: { id: string } }>(
      await runCoffer(['token', 'create', 'robot', '--role', 'reader', '--json'], as(a.ownerToken)),
    );
    const alert = await waitFor('the flaky webhook to be delivered', async () => {
      const found = (await alerts(a.ownerToken)).find((x) => x.subject === created.id);
      return found?.deliveries[0]?.state === 'delivered' ? found : undefined;
    });
    expect(alert.deliveries).toHaveLength(1);
    expect(alert.deliveries[0]).toMatchObject({
      channel: 'webhook',
      state: 'delivered',
      attempts: 3,
    });
    const tries = receiver.hooks.filter((h) => h.path === '/flaky');
    expect(tries).toHaveLength(3);
    expect(new Set(tries.map((h) => h.headers['x-coffer-delivery'])).size).toBe(1);
    const last = tries[2]!;
    const signed = createHmac('sha256', secret)
      .update(`${last.headers['x-coffer-timestamp']}.${last.body}`)
      .digest('hex');
    expect(last.headers['x-coffer-signature']).toBe(`sha256=${signed}`);
  });

  it('lets operators acknowledge an alert, and no other tenant see or touch it', async () => {
    const byReader = await runCoffer(['alert', 'ack', tokenAlert.id], as(reader));
    expect(byReader.code).toBe(1);
    expect(byReader.stderr).toMatch(/role reader may not operate/);
    const byOther = await runCoffer(['alert', 'ack', tokenAlert.id], as(b.ownerToken));
    expect(byOther.code).toBe(1);
    expect(byOther.stderr).toMatch(/no alert/);
    expect(await alerts(b.ownerToken)).toEqual([]);
    const acked = await runCoffer(['alert', 'ack', tokenAlert.id], as(operator));
    expect(acked.code, acked.stderr).toBe(0);
    expect(acked.stdout).toMatch(/acknowledged by night-ops/);
    const listed = json<AlertList>(
      await runCoffer(['alerts', '--state', 'acknowledged', '--json'], as(reader)),
    );
    expect(listed.alerts.map((x) => x.id)).toEqual([tokenAlert.id]);
    expect(listed.alerts[0]!.deliveries.map((d) => d.state)).toEqual(['delivered', 'delivered']);
  });

  it('audits every state-changing call, agents and refusals included, and verify names an edited or deleted entry', async () => {
    const machine = await registerMachine(vault, a, work.path, 'alpha-host');
    const source = join(work.path, 'src');
    await mkdir(source, { recursive: true });
    await writeFile(join(source, 'a.txt'), 'audit me\n');
    expect((await machine.run(['backup', source])).code).toBe(0);

    const log = json<AuditList>(await runCoffer(['audit', '--json'], as(a.ownerToken)));
    const seen = log.entries.map((e) => `${e.action} ${e.status} ${e.actor.name ?? e.actor.kind}`);
    expect(seen).toEqual(
      expect.arrayContaining([
        'vault.create 201 alpha owner',
        'token.create 201 alpha owner',
        'notify.set 403 viewer',
        'notify.set 200 alpha owner',
        'alert.ack 403 viewer',
        'alert.ack 200 night-ops',
        'credentials.create 201 alpha owner',
        'agent.register 201 alpha-host',
        'pack.upload 200 alpha-host',
        'point.commit 201 alpha-host',
      ]),
    );
    // B's attempt on A's alert is in B's log, not A's.
    expect(seen.filter((s) => s.startsWith('alert.ack 404'))).toEqual([]);
    const theirs = json<AuditList>(await runCoffer(['audit', '--json'], as(b.ownerToken)));
    expect(theirs.entries.some((e) => e.action === 'alert.ack' && e.status === 404)).toBe(true);
    const text = await runCoffer(['audit', '--since', '1h'], as(a.ownerToken));
    expect(text.stdout).toMatch(/#\d+ {2}notify\.set {2}403 FORBIDDEN {2}user "viewer"/);
    expect(await http.status('GET', ROUTES.audit, reader)).toBe(403);

    const ok = await runCoffer(['audit', 'verify'], as(a.ownerToken));
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/intact/);

    // Tamper with the database directly, as someone with access to it would.
    const chain = log.chain;
    const sqlExec = async (statement: string): Promise<void> => {
      if (db) {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        await client.query(statement);
        await client.end();
      } else {
        const sqlite = new BetterSqlite3(join(vault.dataDir, 'metadata.sqlite'));
        sqlite.exec(statement);
        sqlite.close();
      }
    };
    const refusal = log.entries.find((e) => e.action === 'notify.set' && e.status === 403)!;
    await sqlExec(
      `UPDATE audit_log SET status = 200, error_code = NULL WHERE chain = '${chain}' AND seq = ${refusal.seq}`,
    );
    const edited = await runCoffer(['audit', 'verify'], as(a.ownerToken));
    expect(edited.code).toBe(1);
    expect(edited.stdout).toContain(`entry #${refusal.seq} `);
    expect(edited.stdout).toMatch(/edited/);
    expect(edited.stderr).toMatch(/tampered with/);
    // Put back; then the first problem is the deleted entry.
    await sqlExec(
      `UPDATE audit_log SET status = 403, error_code = 'FORBIDDEN' WHERE chain = '${chain}' AND seq = ${refusal.seq}`,
    );

    await sqlExec(`DELETE FROM audit_log WHERE chain = '${chain}' AND seq = 2`);
    const deleted = await runCoffer(['audit', 'verify', '--json'], as(a.ownerToken));
    expect(deleted.code).toBe(1);
    expect(JSON.parse(deleted.stdout).chains[0].problem).toMatchObject({ seq: 2, kind: 'deleted' });
    // The service admin verifies every chain and finds the same.
    const all = await runCoffer(['audit', 'verify'], as(vault.adminToken));
    expect(all.code).toBe(1);
    expect(all.stdout).toMatch(/service log: \d+ entries, intact/);
    expect(all.stdout).toMatch(new RegExp(`tenant ${chain}: BROKEN: entry #2 is missing`));
  });
});
