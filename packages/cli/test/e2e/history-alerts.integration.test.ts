/**
 * Alerts the vault raises about an item's backups, with real processes: a failed backup sends
 * exactly one webhook and one e-mail (to a local HTTP listener and an SMTP server from npm),
 * counts a repeat without sending again, and resolves itself after the next successful backup;
 * a stopped agent daemon raises a missed-backup alert once the next slot passes (the vault's
 * clock moved there with COFFER_TEST_CLOCK_FILE), and an offline alert, both resolved when the
 * daemon is back and the backup ran.
 */
import { ROUTES, type Alert, type AlertList, type Item, type Job } from '@coffer/api';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DaemonProcess,
  json,
  registerMachine,
  runCoffer,
  setupTenant,
  tempDir,
  VaultProcess,
  waitFor,
  type Machine,
  type TenantSetup,
} from './harness.js';
import { pinnedDispatcherForTests } from './http.js';

interface Hook {
  type: string;
  alert?: Alert;
}

describe('backup alerts and notifications (SQLite metadata)', () => {
  let work: { path: string; cleanup(): Promise<void> };
  let vault: VaultProcess;
  let tenant: TenantSetup;
  let machine: Machine;
  let daemon: DaemonProcess;
  let http: Awaited<ReturnType<typeof pinnedDispatcherForTests>>;
  let server: Server;
  let smtp: SMTPServer;
  let clockFile: string;
  let source: string;
  const hooks: Hook[] = [];
  const mails: string[] = [];

  const owner = (args: string[]) => runCoffer(args, vault.env(tenant.ownerToken));
  const alerts = async (kind: string) =>
    ((await http.json('GET', ROUTES.alerts, tenant.ownerToken)) as AlertList).alerts.filter(
      (a) => a.kind === kind,
    );
  const hooksOf = (id: string) => hooks.filter((h) => h.alert?.id === id);
  const mailsOf = (kind: string) => mails.filter((m) => m.includes(kind));

  beforeAll(async () => {
    work = await tempDir('coffer-history-alerts-');
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        hooks.push(JSON.parse(body) as Hook);
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, _session, callback) {
        let data = '';
        stream.on('data', (d: Buffer) => (data += d.toString()));
        stream.on('end', () => {
          mails.push(data);
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const smtpPort = (smtp.server.address() as AddressInfo).port;
    clockFile = join(work.path, 'clock');
    await writeFile(clockFile, '');
    vault = new VaultProcess(join(work.path, 'vault'), undefined, [
      '--smtp',
      `smtp://127.0.0.1:${smtpPort}`,
    ]);
    vault.extraEnv = { COFFER_TEST_CLOCK_FILE: clockFile };
    await vault.start();
    http = await pinnedDispatcherForTests(vault);
    tenant = await setupTenant(vault, 'alerts');
    const hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const set = await owner([
      'notify',
      'set',
      tenant.vaultName,
      '--webhook',
      hookUrl,
      '--secret',
      'history-alerts-secret',
      '--email',
      'ops@example.com',
    ]);
    expect(set.code, set.stderr).toBe(0);
    machine = await registerMachine(vault, tenant, work.path, 'm', true);
    source = join(work.path, 'src');
    await mkdir(source);
    await writeFile(join(source, 'a.txt'), 'alerts\n');
    const policy = await owner([
      'policy',
      'create',
      'nightly',
      '--times',
      '02:00',
      '--tz',
      'UTC',
      '--daily',
      '7',
    ]);
    expect(policy.code, policy.stderr).toBe(0);
    // What the policy keeps over a month of its backups: the last seven days.
    const preview = json<{ total: number; points: { reasons: string[] }[] }>(
      await owner(['policy', 'preview', 'nightly', '--days', '30', '--json']),
    );
    expect(preview.total).toBe(7);
    expect(preview.points[0]!.reasons).toEqual(['newest', 'daily']);
    const protect = await machine.run(['protect', source, '--item', 'docs', '--policy', 'nightly']);
    expect(protect.code, protect.stderr).toBe(0);
    daemon = new DaemonProcess(machine);
    daemon.start();
    await daemon.waitFor((l) => l.msg === 'agent daemon started');
  }, 120_000);

  afterAll(async () => {
    await daemon?.stop();
    await vault?.stop();
    await new Promise((resolve) => server?.close(resolve));
    await new Promise((resolve) => smtp?.close(() => resolve(undefined)));
    await work?.cleanup();
  });

  it('sends one webhook and one e-mail for a failed backup, and resolves it after the next success', async () => {
    await rename(source, `${source}.away`);
    expect((await owner(['backup-now', 'docs', '--wait'])).code).toBe(1);
    const [alert] = await waitFor('the backup.failed alert', async () => {
      const found = await alerts('backup.failed');
      return found.length > 0 ? found : undefined;
    });
    expect(alert!.state).toBe('open');
    expect(alert!.severity).toBe('critical');
    await waitFor('its webhook and e-mail', () =>
      hooksOf(alert!.id).length === 1 && mailsOf('backup').length === 1 ? true : undefined,
    );
    // The same problem again: counted, not sent again.
    expect((await owner(['backup-now', 'docs', '--wait'])).code).toBe(1);
    const again = await alerts('backup.failed');
    expect(again.map((a) => [a.id, a.count, a.state])).toEqual([[alert!.id, 2, 'open']]);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(hooksOf(alert!.id)).toHaveLength(1);
    expect(mailsOf('backup')).toHaveLength(1);

    await rename(`${source}.away`, source);
    const ok = await owner(['backup-now', 'docs', '--wait']);
    expect(ok.code, ok.stderr).toBe(0);
    const after = await alerts('backup.failed');
    expect(after.map((a) => a.state)).toEqual(['resolved']);
    const listed = json<{ alerts: Alert[] }>(
      await owner(['alerts', '--state', 'resolved', '--json']),
    );
    expect(listed.alerts.map((a) => a.kind)).toContain('backup.failed');
  }, 180_000);

  it('raises a missed backup when the daemon is down at the next slot, and resolves it when it runs', async () => {
    // Killed, as a crash or an OOM kill would: it says nothing to the vault on its way out.
    expect(await daemon.stop('SIGKILL')).toBe(128);
    const items = json<{ items: Item[] }>(await owner(['items', '--json'])).items;
    const next = Date.parse(items.find((i) => i.name === 'docs')!.nextRunAt!);
    // The vault's clock reaches the next slot: the scheduler queues the backup nobody takes.
    await writeFile(clockFile, String(next + 1000 - Date.now()));
    const queued = await waitFor('the scheduled job', async () => {
      const { jobs } = json<{ jobs: Job[] }>(await owner(['jobs', '--json', '--item', 'docs']));
      return jobs.find((j) => j.trigger === 'schedule' && j.state === 'queued');
    });
    // Past the grace period (ten minutes of the vault's clock), it is missed.
    await writeFile(clockFile, String(next + 11 * 60_000 - Date.now()));
    const [missed] = await waitFor('the backup.missed alert', async () => {
      const found = await alerts('backup.missed');
      return found.length > 0 ? found : undefined;
    });
    expect(missed!.message).toMatch(/has not started: is the agent daemon/);
    expect(missed!.message).toContain(queued.id);
    await waitFor('its webhook', () => (hooksOf(missed!.id).length === 1 ? true : undefined));
    // The daemon is silent for over an hour of the vault's clock: offline too.
    await writeFile(clockFile, String(next + 2 * 3600_000 - Date.now()));
    await waitFor('the agent.offline alert', async () =>
      (await alerts('agent.offline')).some((a) => a.state === 'open') ? true : undefined,
    );

    daemon = new DaemonProcess(machine);
    daemon.start();
    await waitFor(
      'the queued backup to run',
      async () => {
        const { jobs } = json<{ jobs: Job[] }>(await owner(['jobs', '--json', '--item', 'docs']));
        const job = jobs.find((j) => j.id === queued.id)!;
        return job.state === 'succeeded' ? job : undefined;
      },
      90_000,
    );
    await waitFor('both alerts resolved', async () => {
      const states = [...(await alerts('backup.missed')), ...(await alerts('agent.offline'))].map(
        (a) => a.state,
      );
      return states.every((s) => s === 'resolved') ? true : undefined;
    });
    expect(hooksOf(missed!.id)).toHaveLength(1);
  }, 240_000);
});
