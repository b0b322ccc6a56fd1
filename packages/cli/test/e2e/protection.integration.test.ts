import { ROUTES, route, type Item, type Job, type Policy } from '@coffer/api';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DaemonProcess,
  DIALECTS,
  createPgDatabase,
  json,
  registerMachine,
  runCoffer,
  setupTenant,
  tempDir,
  VaultProcess,
  waitFor,
  type Machine,
  type TenantSetup,
  type TestDb,
} from './harness.js';
import { pinnedDispatcherForTests } from './http.js';

/** Schedule slots `offsets` seconds from now: `--times` (UTC, with seconds) and the first. */
function slotsFromNow(...offsets: number[]): { times: string; first: string } {
  const at = offsets.map((s) => new Date(Math.floor(Date.now() / 1000 + s) * 1000).toISOString());
  return { times: at.map((iso) => iso.slice(11, 19)).join(','), first: at[0]! };
}

const FINISHED = ['succeeded', 'warnings', 'failed', 'cancelled'];

describe.each(DIALECTS)('managed protection (%s metadata)', (dialect) => {
  // The scheduling cases run on both databases; the others' SQL runs on PostgreSQL in
  // packages/vault/test/protection-api.test.ts, so here they run once, to keep the suite fast.
  const once = it.runIf(dialect === 'sqlite');
  let work: { path: string; cleanup(): Promise<void> };
  let db: TestDb | undefined;
  let vault: VaultProcess;
  let tenant: TenantSetup;
  let alpha: Machine;
  let beta: Machine;
  let daemon: DaemonProcess;
  let source: string;
  let http: Awaited<ReturnType<typeof pinnedDispatcherForTests>>;
  /** The item of the first case, with its scheduled jobs. */
  let scheduled: Item;

  const owner = (args: string[]) => runCoffer(args, vault.env(tenant.ownerToken));

  async function jobsOf(item: Item): Promise<Job[]> {
    const result = (await http.json(
      'GET',
      `${route(ROUTES.vaultJobs, { vault: tenant.vaultId })}?item=${item.id}`,
      tenant.ownerToken,
    )) as { jobs: Job[] };
    return result.jobs;
  }

  /** Waits until `item`'s jobs satisfy `done`, and returns them. */
  function jobsWhen(item: Item, what: string, done: (jobs: Job[]) => boolean, ms = 60_000) {
    return waitFor(
      what,
      async () => {
        const jobs = await jobsOf(item);
        return done(jobs) ? jobs : undefined;
      },
      ms,
    );
  }

  async function protect(machine: Machine, name: string, policy?: string): Promise<Item> {
    const args = ['protect', source, '--item', name, '--exclude', '*.tmp', '--json'];
    if (policy) args.push('--policy', policy);
    const result = await machine.run(args, { COFFER_PASSPHRASE: '' });
    expect(result.code, result.stderr).toBe(0);
    return json<{ item: Item }>(result).item;
  }

  /**
   * Gives `item`'s policy slots `offsets` seconds from now (through the API: a CLI process can
   * take seconds to start on a busy machine) and checks that the item waits for the first; if
   * the first passed before the change arrived, tries again.
   */
  async function scheduleSoon(item: Item, ...offsets: number[]): Promise<void> {
    const path = route(ROUTES.policy, { policy: item.policyId! });
    const policy = (await http.json('GET', path, tenant.ownerToken)) as Policy;
    for (let attempt = 1; ; attempt++) {
      const { times, first } = slotsFromNow(...offsets);
      const schedule = { ...policy.spec.schedule, times: times.split(','), timeZone: 'UTC' };
      const spec = { ...policy.spec, schedule };
      expect(await http.status('PUT', path, tenant.ownerToken, { spec })).toBe(200);
      const now = (await http.json(
        'GET',
        route(ROUTES.item, { item: item.id }),
        tenant.ownerToken,
      )) as Item;
      if (now.nextRunAt === first || attempt === 3) {
        expect(now.nextRunAt).toBe(first);
        return;
      }
    }
  }

  /** Restores `pointId` on alpha, compares it with the source, and returns where it went. */
  async function restoreAndCompare(pointId: string, name: string): Promise<string> {
    const target = join(work.path, `restored-${name}`);
    const restored = await alpha.run(['restore', pointId, '--target', target]);
    expect(restored.code, restored.stderr).toBe(0);
    for (const file of ['a.txt', 'sub/b.bin']) {
      expect(await readFile(join(target, source, file))).toEqual(
        await readFile(join(source, file)),
      );
    }
    return target;
  }

  beforeAll(async () => {
    work = await tempDir('coffer-protection-');
    db = dialect === 'postgres' ? await createPgDatabase() : undefined;
    vault = new VaultProcess(join(work.path, 'vault'), db?.url, ['--job-timeout', '20']);
    await vault.start();
    tenant = await setupTenant(vault, 'managed');
    alpha = await registerMachine(vault, tenant, work.path, 'alpha', true);
    beta = await registerMachine(vault, tenant, work.path, 'beta', true);
    source = join(work.path, 'src');
    await mkdir(join(source, 'sub'), { recursive: true });
    await writeFile(join(source, 'a.txt'), 'managed protection\n');
    await writeFile(join(source, 'sub', 'b.bin'), randomBytes(2 * 1024 * 1024));
    await writeFile(join(source, 'skip.tmp'), 'excluded');
    http = await pinnedDispatcherForTests(vault);
    daemon = new DaemonProcess(alpha);
    daemon.start();
    await daemon.waitFor((l) => l.msg === 'agent daemon started');
  });

  afterAll(async () => {
    await daemon?.stop();
    await http?.close();
    await vault?.stop();
    await db?.drop();
    await work?.cleanup();
  });

  it('runs backups on the schedule a policy sets, each a succeeded job whose point restores', async () => {
    const created = await owner([
      'policy',
      'create',
      'soon',
      '--tz',
      'UTC',
      '--daily',
      '7',
      '--json',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const item = await protect(alpha, 'scheduled', 'soon');
    scheduled = item;
    expect(item.nextRunAt).toBeDefined();
    await scheduleSoon(item, 3, 6);
    const jobs = await jobsWhen(
      item,
      'two scheduled backups',
      (list) => list.filter((j) => j.state === 'succeeded').length >= 2,
    );
    const done = jobs.filter((j) => j.state === 'succeeded');
    expect(done.map((j) => j.trigger)).toEqual(['schedule', 'schedule']);
    expect(new Set(done.map((j) => j.slotAt)).size).toBe(2);
    for (const job of done) {
      expect(job.pointId).toMatch(/^[0-9a-f]{64}$/);
      expect(job.progress.bytesDone).toBeGreaterThan(2 * 1024 * 1024);
    }
    const restored = await restoreAndCompare(done[0]!.pointId!, 'scheduled');
    // The excluded file was left out, as the item says.
    await expect(readFile(join(restored, source, 'skip.tmp'))).rejects.toThrow();
    const items = json<{ items: Item[] }>(await owner(['items', '--json']));
    expect(items.items.find((i) => i.id === item.id)).toMatchObject({
      policy: 'soon',
      health: 'ok',
      agentOnline: true,
    });
  });

  once(
    'backs an item up on request within seconds, shows it, and reports a second request as already running',
    async () => {
      const item = await protect(alpha, 'on-demand');
      const now = await owner(['backup-now', 'on-demand', '--agent', 'alpha', '--wait']);
      expect(now.code, now.stderr).toBe(0);
      expect(now.stderr).toMatch(/Job jb_[0-9a-f]+ is (queued|running)/);
      expect(now.stdout).toMatch(/The backup job jb_[0-9a-f]+ of on-demand succeeded/);
      const [job] = await jobsOf(item);
      expect(job).toMatchObject({ state: 'succeeded', trigger: 'on-demand' });
      // The acceptance bound: the daemon took the job within 5 s of the request.
      expect(Date.parse(job!.startedAt!) - Date.parse(job!.createdAt)).toBeLessThan(5000);
      // While a backup of the item is queued or running, another request gets that one.
      await daemon.stop();
      const first = json<{ job: Job; alreadyRunning: boolean }>(
        await owner(['backup-now', 'on-demand', '--json']),
      );
      const second = await owner(['backup-now', 'on-demand']);
      expect(second.code).toBe(0);
      expect(second.stdout).toMatch(
        new RegExp(`already \\(job ${first.job.id}\\); not starting another`),
      );
      daemon = new DaemonProcess(alpha);
      daemon.start();
      const followed = await owner(['job', first.job.id, '--follow', '--json']);
      expect(followed.code, followed.stderr).toBe(0);
      expect(json<Job>(followed).state).toBe('succeeded');
      expect((await jobsOf(item)).length).toBe(2);
    },
  );

  once(
    "restores a point on the agent's machine when asked through the vault, byte-identical, and reports the bytes",
    async () => {
      const backup = await alpha.run(['backup', source, '--item', 'manual', '--json'], {
        COFFER_PASSPHRASE: '',
      });
      expect(backup.code, backup.stderr).toBe(0);
      const { point, job: manualJob } = json<{
        point: { id: string; stats: { bytes: number } };
        job: string;
      }>(backup);
      const manual = json<Job>(await owner(['job', manualJob, '--json']));
      expect(manual).toMatchObject({
        kind: 'backup',
        trigger: 'manual',
        state: 'succeeded',
        pointId: point.id,
      });
      const target = join(work.path, 'requested');
      const relative = await owner([
        'restore-request',
        point.id,
        '--agent',
        'alpha',
        '--target',
        'rel',
      ]);
      expect(relative.code).toBe(2);
      expect(relative.stderr).toMatch(/absolute directory/);
      const result = await owner([
        'restore-request',
        point.id.slice(0, 10),
        '--agent',
        alpha.agentId,
        '--target',
        target,
        '--wait',
        '--json',
      ]);
      expect(result.code, result.stderr).toBe(0);
      const job = json<Job>(result);
      expect(job).toMatchObject({
        kind: 'restore',
        trigger: 'on-demand',
        state: 'succeeded',
        agentId: alpha.agentId,
      });
      expect(job.progress.bytesDone).toBe(point.stats.bytes);
      expect(job.result).toMatchObject({ bytes: point.stats.bytes, files: 3 });
      for (const file of ['a.txt', 'sub/b.bin', 'skip.tmp']) {
        expect(await readFile(join(target, source, file))).toEqual(
          await readFile(join(source, file)),
        );
      }
    },
  );

  once(
    'refuses bad input with one clear line, exit 2 (1 for a taken name), and changes nothing',
    async () => {
      const before = await owner(['policy', 'list', '--json']);
      const cases: [string[], number, RegExp][] = [
        [
          ['policy', 'create', 'bad', '--tz', 'Mars/Olympus', '--daily', '7'],
          2,
          /--tz: "Mars\/Olympus" is not a known IANA time zone/,
        ],
        [
          ['policy', 'create', 'bad', '--times', '25:00', '--daily', '7'],
          2,
          /--times: "25:00" is not a time of day/,
        ],
        [
          ['policy', 'create', 'bad', '--daily', '3'],
          2,
          /retention\.daily\.days: 3 is out of range; allowed 7 to 9999/,
        ],
        [['policy', 'create', 'bad', '--times', '02:00'], 2, /say how long points are kept/],
        [['policy', 'create', 'soon', '--daily', '7'], 1, /a policy named soon already/],
        [
          ['restore-request', 'latest', '--agent', 'alpha', '--target', 'relative/dir'],
          2,
          /--target relative\/dir: give an absolute directory/,
        ],
      ];
      for (const [args, code, message] of cases) {
        const r = await owner(args);
        expect([r.code, r.stderr.trim().split('\n').length], args.join(' ')).toEqual([code, 1]);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toMatch(/\n\s+at /);
      }
      expect((await owner(['policy', 'list', '--json'])).stdout).toBe(before.stdout);
      // A good change goes through, keeping what it does not name.
      const set = await owner([
        'policy',
        'set',
        'soon',
        '--weekly',
        '4',
        '--weekday',
        'fri',
        '--json',
      ]);
      expect(set.code, set.stderr).toBe(0);
      expect(json<Policy>(set).spec.retention).toEqual({
        daily: { days: 7 },
        weekly: { weeks: 4, weekday: 'fri' },
      });
      const empty = await alpha.run(['protect', '', '--item', 'x']);
      expect(empty.code).toBe(2);
      expect(empty.stderr).toMatch(/name at least one path/);
      const none = await alpha.run(['protect', '--item', 'x']);
      expect(none.code).toBe(2);
      const items = json<{ items: Item[] }>(await owner(['items', '--json']));
      expect(items.items.map((i) => i.name)).not.toContain('x');
    },
  );

  once('keeps readers from changing anything and agents from seeing each other', async () => {
    const reader = json<{ secret: string }>(
      await owner(['token', 'create', 'auditor', '--role', 'reader', '--json']),
    ).secret;
    const asReader = (args: string[]) => runCoffer(args, vault.env(reader));
    const policy = await asReader(['policy', 'create', 'r', '--daily', '7']);
    expect(policy.code).toBe(1);
    expect(policy.stderr).toMatch(/role reader may not write/);
    const start = await asReader(['backup-now', 'on-demand']);
    expect(start.code).toBe(1);
    expect(start.stderr).toMatch(/role reader may not operate/);
    expect((await asReader(['jobs', '--json'])).code).toBe(0);
    // Beta, as an agent, sees only its own items and jobs, and none of alpha's.
    const betaItems = json<{ items: Item[] }>(await beta.run(['items', '--json']));
    expect(betaItems.items).toEqual([]);
    const alphaJob = (await jobsOf(scheduled))[0]!;
    const peek = await beta.run(['job', alphaJob.id]);
    expect(peek.code).toBe(1);
    expect(peek.stderr).toMatch(/no job/);
    const cancel = await beta.run(['job', 'cancel', alphaJob.id]);
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toMatch(/no job/);
  });

  it('rides out a vault killed during a scheduled backup: the daemon reconnects, the job ends, the next slot runs', async () => {
    await writeFile(join(source, 'sub', 'large.bin'), randomBytes(64 * 1024 * 1024));
    try {
      await owner(['policy', 'create', 'crash', '--tz', 'UTC', '--daily', '7']);
      const item = await protect(alpha, 'crash-test', 'crash');
      // The vault freezes the moment the daemon takes the job, so the job is surely under way
      // when the vault dies, however fast the machine backs the data up.
      const frozen = new Promise<string>((resolvePromise) =>
        daemon.onceLogged(
          (l) => l.msg === 'job started' && l.item === item.name,
          (line) => {
            vault.freeze();
            resolvePromise(line.job as string);
          },
        ),
      );
      await scheduleSoon(item, 2);
      const killedId = await frozen;
      await vault.kill();
      // On the same address: the daemon knows the vault by its URL.
      await vault.start(new URL(vault.url).host);
      await daemon.waitFor((l) => l.msg === 'connected to the vault again', 60_000);
      const ended = await jobsWhen(
        item,
        'the interrupted job to end',
        (list) => FINISHED.includes(list.find((j) => j.id === killedId)!.state),
        90_000,
      );
      expect(['failed', 'succeeded']).toContain(ended.find((j) => j.id === killedId)!.state);
      // The next slot of the policy runs normally.
      await scheduleSoon(item, 2);
      const next = await jobsWhen(
        item,
        'the next slot',
        (list) => list.some((j) => j.id !== killedId && j.state === 'succeeded'),
        90_000,
      );
      expect(next.find((j) => j.id !== killedId && j.state === 'succeeded')!.trigger).toBe(
        'schedule',
      );
    } finally {
      await runCoffer(['item', 'set', 'crash-test', '--no-policy'], vault.env(tenant.ownerToken));
      await rm(join(source, 'sub', 'large.bin'), { force: true });
    }
  });

  it('runs exactly one catch-up backup after the daemon was stopped across three slots', async () => {
    await daemon.stop();
    await owner(['policy', 'create', 'triple', '--tz', 'UTC', '--daily', '7']);
    const item = await protect(alpha, 'catch-up', 'triple');
    await scheduleSoon(item, 2, 3, 4);
    await waitFor('the three slots to pass', async () => {
      const now = json<{ items: Item[] }>(await owner(['items', '--json'])).items.find(
        (i) => i.id === item.id,
      )!;
      return Date.parse(now.nextRunAt ?? '0') > Date.now() + 3600_000 ? now : undefined;
    });
    const queued = await jobsOf(item);
    expect(queued.map((j) => [j.state, j.trigger])).toEqual([['queued', 'schedule']]);
    daemon = new DaemonProcess(alpha);
    daemon.start();
    const done = await jobsWhen(item, 'the catch-up backup', (list) =>
      list.every((j) => FINISHED.includes(j.state)),
    );
    expect(done.map((j) => [j.state, j.trigger])).toEqual([['succeeded', 'schedule']]);
  });
});
