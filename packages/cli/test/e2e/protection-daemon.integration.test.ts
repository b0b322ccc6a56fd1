import type { Job } from '@coffer/api';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Machine } from './harness.js';
import {
  DaemonProcess,
  json,
  registerMachine,
  runCoffer,
  setupTenant,
  tempDir,
  VaultProcess,
  waitFor,
  type TenantSetup,
} from './harness.js';

/** The backup whose progress is watched: 1 GiB of random bytes in four files. */
const FILES = 4;
const FILE_BYTES = 256 * 1024 * 1024;

/** Writes `bytes` random bytes to `path` in 16 MiB pieces (never all in memory). */
async function randomFile(path: string, bytes: number): Promise<void> {
  const file = await open(path, 'w');
  try {
    for (let done = 0; done < bytes; done += 16 * 1024 * 1024) {
      await file.write(randomBytes(Math.min(16 * 1024 * 1024, bytes - done)));
    }
  } finally {
    await file.close();
  }
}

describe('the agent daemon (sqlite metadata)', () => {
  let work: { path: string; cleanup(): Promise<void> };
  let vault: VaultProcess;
  let tenant: TenantSetup;
  let alpha: Machine;
  let daemon: DaemonProcess;
  let source: string;

  const owner = (args: string[]) => runCoffer(args, vault.env(tenant.ownerToken));

  beforeAll(async () => {
    work = await tempDir('coffer-progress-');
    vault = new VaultProcess(join(work.path, 'vault'));
    await vault.start();
    tenant = await setupTenant(vault, 'progress');
    alpha = await registerMachine(vault, tenant, work.path, 'alpha', true);
    source = join(work.path, 'big');
    await mkdir(source);
    for (let i = 0; i < FILES; i++) await randomFile(join(source, `part-${i}.bin`), FILE_BYTES);
    daemon = new DaemonProcess(alpha);
    daemon.start();
  });

  afterAll(async () => {
    await daemon?.stop();
    await vault?.stop();
    await work?.cleanup();
  });

  it('shows bytes increasing in `coffer jobs --json`; a cancelled run makes no point and the next reuses its uploads', async () => {
    const protect = await alpha.run(['protect', source, '--item', 'big', '--json']);
    expect(protect.code, protect.stderr).toBe(0);
    const queued = json<{ job: Job }>(await owner(['backup-now', 'big', '--json'])).job;
    // Poll the CLI as a script would, until a third of the data is done.
    const seen: number[] = [];
    await waitFor(
      'a third of the data',
      async () => {
        const { jobs } = json<{ jobs: Job[] }>(await owner(['jobs', '--json', '--item', 'big']));
        const job = jobs.find((j) => j.id === queued.id)!;
        if (job.state === 'running') seen.push(job.progress.bytesDone);
        const over = !['queued', 'running'].includes(job.state);
        return over || job.progress.bytesDone > (FILES * FILE_BYTES) / 3 ? job : undefined;
      },
      120_000,
    );
    const distinct = [...new Set(seen)];
    expect(distinct.length, `bytes seen: ${seen.join(', ')}`).toBeGreaterThanOrEqual(2);
    expect(distinct).toEqual([...distinct].sort((a, b) => a - b));
    expect(distinct.at(-1)!).toBeGreaterThan(distinct[0]!);
    // Cancel it: no point, the job ends cancelled, and the packs sent so far stay.
    const cancel = await owner(['job', 'cancel', queued.id, '--follow', '--json']);
    expect(cancel.code).toBe(1);
    const cancelled = json<Job>(cancel);
    expect(cancelled.state).toBe('cancelled');
    expect(cancelled.pointId).toBeUndefined();
    expect(cancelled.error).toMatch(/no recovery point was made/);
    const points = json<{ points: unknown[] }>(
      await owner(['vault', 'points', tenant.vaultId, '--json']),
    );
    expect(points.points).toEqual([]);
    // The next run sends only what the cancelled one had not, and follows with live progress.
    const again = await owner(['backup-now', 'big', '--wait']);
    expect(again.code, again.stderr).toBe(0);
    const { jobs } = json<{ jobs: Job[] }>(await owner(['jobs', '--json', '--item', 'big']));
    const done = jobs.find((j) => j.state === 'succeeded')!;
    const point = json<{ points: { id: string; stats: { storedBytes: number; bytes: number } }[] }>(
      await owner(['vault', 'points', tenant.vaultId, '--json']),
    ).points.find((p) => p.id === done.pointId)!;
    expect(point.stats.bytes).toBe(FILES * FILE_BYTES);
    expect(point.stats.storedBytes).toBeLessThan(point.stats.bytes * 0.8);
  });

  it('refuses to start without stored keys and says how to make them; unlock stores them 0600, lock removes them', async () => {
    const gamma = await registerMachine(vault, tenant, work.path, 'gamma');
    const keys = join(gamma.configDir, 'keys');
    const refused = await gamma.run(['agent', 'run']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/no stored keys at .*keys: .*Run 'coffer agent unlock' once/);
    const wrong = await gamma.run(['agent', 'unlock'], {
      COFFER_PASSPHRASE: 'not the passphrase at all',
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/wrong passphrase/);
    await expect(stat(keys)).rejects.toThrow();
    const unlocked = await gamma.run(['agent', 'unlock']);
    expect(unlocked.code, unlocked.stderr).toBe(0);
    expect((await stat(keys)).mode & 0o777).toBe(0o600);
    // Interactive commands use the stored keys: no passphrase needed any more.
    const backup = await gamma.run(['backup', join(source, 'part-0.bin'), '--json'], {
      COFFER_PASSPHRASE: '',
    });
    expect(backup.code, backup.stderr).toBe(0);
    const gammaDaemon = new DaemonProcess(gamma);
    gammaDaemon.start();
    await gammaDaemon.waitFor((l) => l.msg === 'agent daemon started');
    expect(await gammaDaemon.stop()).toBe(0);
    const locked = await gamma.run(['agent', 'lock']);
    expect(locked.code).toBe(0);
    await expect(stat(keys)).rejects.toThrow();
    expect((await gamma.run(['agent', 'run'])).code).toBe(1);
  });

  it('writes a systemd unit with the config directory and the key file, and prints it', async () => {
    const dry = await alpha.run(['agent', 'install-service', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    const execStart = new RegExp(
      `ExecStart=\\S+ \\S+/bin/coffer\\.js agent run --config ${alpha.configDir} --keys ${alpha.configDir}/keys`,
    );
    expect(dry.stdout).toMatch(/Would write \/etc\/systemd\/system\/coffer-agent\.service/);
    expect(dry.stdout).toMatch(execStart);
    expect(dry.stdout).toMatch(/WantedBy=multi-user\.target/);
    const dir = join(work.path, 'units');
    const written = await alpha.run(['agent', 'install-service', '--user', '--unit-dir', dir]);
    expect(written.code, written.stderr).toBe(0);
    const unit = await readFile(join(dir, 'coffer-agent.service'), 'utf8');
    expect(unit).toMatch(execStart);
    expect(unit).toMatch(/WantedBy=default\.target/);
    expect(written.stdout).toContain(unit);
    expect(written.stdout).toMatch(
      /systemctl --user daemon-reload && systemctl --user enable --now coffer-agent\.service/,
    );
  });
});
