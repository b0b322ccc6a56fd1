/**
 * A simulated year against a real vault process: the vault's clock is moved through 2025 with
 * COFFER_TEST_CLOCK_FILE (the real scheduler, expiry and purge code runs), one backup a day is
 * made with the agent library, and expiry must leave exactly docs/retention.md §5's 22 points;
 * expired points are soft-deleted, then purged after the soft-delete period. Every remaining
 * point restores byte for byte and passes `verify --read-data`, and again after GC has brought
 * the stored bytes to within 10% of a fresh backup of their data. Then the guarantees around it:
 * a deleted point comes back byte-identical, a stolen agent credential destroys nothing (and is
 * audited), and a locked vault refuses its owner and the service admin.
 */
import {
  Backup,
  BlobReader,
  Restore,
  VaultClient,
  loadAgent,
  type LoadedAgent,
} from '@coffer/agent';
import { ROUTES, route, type AuditEntry, type Job, type Point } from '@coffer/api';
import { openKeyring, type MasterKeys } from '@coffer/core';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  json,
  PASSPHRASE,
  registerMachine,
  runCoffer,
  setupTenant,
  storedPackBytes,
  tempDir,
  VaultProcess,
  type Machine,
  type TenantSetup,
} from './harness.js';

const ZONE = 'Europe/Paris';
const FIRST_DAY = DateTime.fromISO('2025-01-01T02:00', { zone: ZONE });
const DAYS = 365;
const DAY_MS = 86_400_000;
/** docs/retention.md §5: what 7 daily / 4 weekly / 12 monthly / 3 yearly keep on 2025-12-31. */
const EXPECTED_DATES = [
  ...Array.from({ length: 12 }, (_, m) => `2025-${String(m + 1).padStart(2, '0')}-01`),
  '2025-12-07',
  '2025-12-14',
  '2025-12-21',
  '2025-12-25',
  '2025-12-26',
  '2025-12-27',
  '2025-12-28',
  '2025-12-29',
  '2025-12-30',
  '2025-12-31',
].sort();

const localDate = (iso: string): string => DateTime.fromISO(iso, { zone: ZONE }).toISODate()!;
const sha = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

describe('a simulated year of daily backups (SQLite metadata)', () => {
  let work: { path: string; cleanup(): Promise<void> };
  let vault: VaultProcess;
  let tenant: TenantSetup;
  let machine: Machine;
  let loaded: LoadedAgent;
  let client: VaultClient;
  let keys: MasterKeys;
  let clockFile: string;
  let source: string;
  let baseHash: string;
  /** The day.txt each point holds, by point id. */
  const dayOf = new Map<string, string>();

  const setClock = (vaultNow: number) => writeFile(clockFile, String(vaultNow - Date.now()));
  const owner = () => ({ ...vault.env(tenant.ownerToken) });

  async function ownerExpire(): Promise<Record<string, number>> {
    const result = await runCoffer(['expire', tenant.vaultName, '--wait', '--json'], owner());
    expect(result.code, result.stderr).toBe(0);
    const job = json<Job>(result);
    expect(job.state).toBe('succeeded');
    return job.result as Record<string, number>;
  }

  /** The vault's live points (`vault points`), or its soft-deleted ones (`points --deleted`). */
  async function ownerPoints(deleted: boolean): Promise<Point[]> {
    const args = deleted
      ? ['points', '--deleted', '--vault', tenant.vaultName, '--json']
      : ['vault', 'points', tenant.vaultName, '--json'];
    return json<{ points: Point[] }>(await runCoffer(args, owner())).points;
  }

  async function restoreAndCheck(
    pointId: string,
    target = join(work.path, `restore-${pointId.slice(0, 12)}`),
  ): Promise<void> {
    const warnings: unknown[] = [];
    await new Restore({
      reader: new BlobReader(client, loaded.state.agentId, keys),
      pointId,
      target,
      conflict: 'overwrite',
      onWarning: (w) => warnings.push(w),
    }).run();
    expect(warnings).toEqual([]);
    const restored = join(target, source);
    expect(await readFile(join(restored, 'day.txt'), 'utf8')).toBe(dayOf.get(pointId));
    expect(sha(await readFile(join(restored, 'base.bin')))).toBe(baseHash);
  }

  beforeAll(async () => {
    work = await tempDir('coffer-year-');
    clockFile = join(work.path, 'clock');
    await writeFile(clockFile, '');
    vault = new VaultProcess(join(work.path, 'vault'));
    vault.extraEnv = { COFFER_TEST_CLOCK_FILE: clockFile };
    await vault.start();
    tenant = await setupTenant(vault, 'year');
    machine = await registerMachine(vault, tenant, work.path, 'm');
    loaded = await loadAgent(machine.configDir);
    client = new VaultClient({
      url: loaded.state.url,
      fingerprint: loaded.state.fingerprint,
      token: loaded.token,
    });
    keys = await openKeyring(loaded.keyring, PASSPHRASE);
    source = join(work.path, 'src');
    await mkdir(source, { recursive: true });
    const base = randomBytes(256 * 1024);
    baseHash = sha(base);
    await writeFile(join(source, 'base.bin'), base);
    const made = await runCoffer(
      [
        'policy',
        'create',
        'year',
        '--times',
        '02:00',
        '--tz',
        ZONE,
        '--daily',
        '7',
        '--weekly',
        '4',
        '--monthly',
        '12',
        '--yearly',
        '3',
        '--json',
      ],
      owner(),
    );
    expect(made.code, made.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await vault?.stop();
    await work?.cleanup();
  });

  it('keeps exactly the expected points, soft-deletes the rest and purges them after the period', async () => {
    const started = Date.now();
    for (let day = 0; day < DAYS; day++) {
      const at = FIRST_DAY.plus({ days: day });
      await setClock(at.toMillis());
      const content = `day ${day} ${at.toISODate()}\n`;
      await writeFile(join(source, 'day.txt'), content);
      const { point } = await new Backup({
        client,
        agentId: loaded.state.agentId,
        keys,
        cacheDir: join(loaded.dir, 'cache', loaded.state.keyringId),
        paths: [source],
        item: 'year',
        excludes: [],
        hostname: 'year',
        username: 'year',
        program: 'history-year',
      }).run();
      dayOf.set(point.id, content);
      if (day === 0) {
        const set = await runCoffer(['item', 'set', 'year', '--policy', 'year'], owner());
        expect(set.code, set.stderr).toBe(0);
      }
      // Expire as the vault would on its own; by path independence the timing does not matter.
      if (day % 30 === 29) await ownerExpire();
    }
    await setClock(DateTime.fromISO('2025-12-31T12:00', { zone: ZONE }).toMillis());
    await ownerExpire();
    process.stdout.write(
      `simulated year: ${DAYS} backups and expiry in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );

    const live = await ownerPoints(false);
    expect(live.map((p) => localDate(p.createdAt)).sort()).toEqual(EXPECTED_DATES);
    const deleted = await ownerPoints(true);
    const now = DateTime.fromISO('2025-12-31T12:00', { zone: ZONE }).toMillis();
    for (const p of deleted) {
      expect(p.deleteReason).toBe('expired');
      expect(Date.parse(p.purgeAt!) - Date.parse(p.deletedAt!)).toBe(14 * DAY_MS);
      // What expired more than the soft-delete period ago is purged already.
      expect(Date.parse(p.purgeAt!)).toBeGreaterThan(now);
    }
    const purged = DAYS - live.length - deleted.length;
    expect(purged).toBeGreaterThan(300);
    expect(deleted.length).toBeGreaterThan(0);

    for (const p of live) await restoreAndCheck(p.id);
    const verified = await machine.run(['verify', '--read-data', '--json']);
    expect(verified.code, verified.stderr).toBe(0);

    // Fifteen days later (no more backups) every point soft-deleted by now is purged.
    const before = new Set(deleted.map((p) => p.id));
    await setClock(now + 15 * DAY_MS);
    await ownerExpire();
    const after = await ownerPoints(true);
    expect(after.filter((p) => before.has(p.id))).toEqual([]);
    // The newest point of an item whose backups stopped is never expired.
    const newest = live.reduce((a, b) => (a.createdAt > b.createdAt ? a : b));
    expect((await ownerPoints(false)).map((p) => p.id)).toContain(newest.id);

    // GC, on the vault's moved clock: condemn, sweep a grace period later, delete emptied packs
    // a grace period after that. What is left must be close to a fresh backup of what the
    // remaining points hold, and every one of them must still restore and verify.
    const bytesBefore = await storedPackBytes(vault.dataDir);
    let at = now + 15 * DAY_MS;
    for (let run = 0; run < 3; run++) {
      at += 2 * DAY_MS;
      await setClock(at);
      const gc = await runCoffer(['gc', tenant.vaultName, '--wait', '--json'], owner());
      expect(gc.code, gc.stderr).toBe(0);
      expect(json<Job>(gc).state).toBe('succeeded');
    }
    const bytesAfter = await storedPackBytes(vault.dataDir);
    // Expiry as of the moved clock, before the tests below count points (its hourly task would
    // otherwise do it under them); GC kept soft-deleted points whole, as it must.
    await ownerExpire();
    const remaining = await ownerPoints(false);
    const copies = join(work.path, 'remaining');
    for (const p of remaining) await restoreAndCheck(p.id, join(copies, p.id.slice(0, 12)));
    const verifiedAfterGc = await machine.run(['verify', '--read-data', '--json']);
    expect(verifiedAfterGc.code, verifiedAfterGc.stderr).toBe(0);
    const fresh = new VaultProcess(join(work.path, 'fresh-vault'));
    try {
      await fresh.start();
      const freshTenant = await setupTenant(fresh, 'fresh');
      const freshMachine = await registerMachine(fresh, freshTenant, work.path, 'fresh');
      const backedUp = await freshMachine.run(['backup', copies, '--json']);
      expect(backedUp.code, backedUp.stderr).toBe(0);
      const freshBytes = await storedPackBytes(fresh.dataDir);
      process.stdout.write(
        `GC: ${bytesBefore} -> ${bytesAfter} stored bytes; a fresh backup of the ${remaining.length} remaining points' data: ${freshBytes}\n`,
      );
      expect(bytesAfter).toBeLessThan(bytesBefore);
      expect(bytesAfter).toBeLessThanOrEqual(freshBytes * 1.1);
    } finally {
      await fresh.stop();
    }
  }, 900_000);

  it('brings a deleted point back byte-identical', async () => {
    const live = await ownerPoints(false);
    const target = live.find((p) => localDate(p.createdAt) === '2025-12-28')!;
    const del = await runCoffer(
      ['point', 'delete', target.id.slice(0, 12), '--vault', tenant.vaultName],
      owner(),
    );
    expect(del.code, del.stderr).toBe(0);
    const mine = json<{ points: Point[] }>(await machine.run(['points', '--json'])).points;
    expect(mine.map((p) => p.id)).not.toContain(target.id);
    const gone = await ownerPoints(true);
    expect(gone.find((p) => p.id === target.id)?.deleteReason).toBe('deleted');
    const back = await runCoffer(
      ['point', 'undelete', target.id, '--vault', tenant.vaultName],
      owner(),
    );
    expect(back.code, back.stderr).toBe(0);
    await restoreAndCheck(target.id);
  }, 120_000);

  it('refuses a stolen agent credential, and audits each attempt', async () => {
    const live = await ownerPoints(false);
    const policies = json<{ policies: { id: string; name: string }[] }>(
      await runCoffer(['policy', 'list', '--json'], owner()),
    ).policies;
    const attempts = [
      ['point', 'delete', live[0]!.id],
      ['protect', 'stop', 'year', '--delete-data'],
      ['policy', 'set', policies.find((p) => p.name === 'year')!.id, '--yearly', '0'],
    ];
    for (const args of attempts) {
      const result = await machine.run(args);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toMatch(/agent credential may not|not agents/);
    }
    expect((await ownerPoints(false)).length).toBe(live.length);
    const audit = await runCoffer(['audit', '--json'], owner());
    const entries = json<{ entries: AuditEntry[] }>(audit).entries;
    const refused = entries
      .filter((e) => e.actor.kind === 'agent' && e.status === 403)
      .map((e) => e.action);
    expect(refused).toEqual(
      expect.arrayContaining(['point.delete', 'protection.stop', 'policy.update']),
    );
  }, 120_000);

  it('refuses the owner and the service admin once the vault is locked', async () => {
    const lock = await runCoffer(
      ['vault', 'set', tenant.vaultName, '--immutability', 'locked', '--json'],
      owner(),
    );
    expect(lock.code, lock.stderr).toBe(0);
    expect(json<{ settings: { immutability: string } }>(lock).settings.immutability).toBe('locked');
    const live = await ownerPoints(false);
    // The newest point: retention keeps it whatever the clock says by now (an older one may
    // have reached its expiry, and deleting that is allowed even when locked).
    const point = live.reduce((a, b) => (a.createdAt > b.createdAt ? a : b));
    const admin = vault.env(vault.adminToken);
    const refusals = [
      [['point', 'delete', point.id, '--vault', tenant.vaultName], owner()],
      [['protect', 'stop', 'year', '--delete-data', '--vault', tenant.vaultName], owner()],
      [['vault', 'set', tenant.vaultName, '--immutability', 'off'], owner()],
      [['vault', 'set', tenant.vaultId, '--immutability', 'unlocked'], admin],
      [['vault', 'set', tenant.vaultId, '--soft-delete-days', '1'], admin],
    ] as const;
    for (const [args, env] of refusals) {
      const result = await runCoffer([...args], env);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toMatch(/immutable and locked/);
    }
    // The service admin's attempt on the point through the API is refused the same way.
    const http = await import('./http.js').then((m) => m.pinnedDispatcherForTests(vault));
    const answer = (await http.json(
      'DELETE',
      route(ROUTES.vaultPoint, { vault: tenant.vaultId, point: point.id }),
      vault.adminToken,
    )) as { error: { code: string } };
    expect(answer.error.code).toBe('IMMUTABLE');
    expect((await ownerPoints(false)).length).toBe(live.length);
  }, 120_000);
});
