import type { FinishRequest, Job, ProgressReport } from '@coffer/api';
import { createKeyring } from '@coffer/core';
import { spawnSync } from 'node:child_process';
import { chmod, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VaultError, VaultUnreachableError } from '../src/client/vault-client.js';
import { loadStoredKeys, saveStoredKeys } from '../src/config/stored-keys.js';
import { backoffDelay } from '../src/daemon/backoff.js';
import { JobReporter } from '../src/daemon/job-reporter.js';
import { jsonLog } from '../src/daemon/log.js';
import { systemdUnit, unitPath } from '../src/daemon/systemd-unit.js';
import { RunMarkers, startManualBackup } from '../src/daemon/run-markers.js';
import { useTempDir } from './temp-dir.js';

const dir = useTempDir('coffer-daemon-');

describe('reconnection backoff', () => {
  it('doubles from the base up to the cap, keeping a random half (equal jitter)', () => {
    const options = { baseMs: 1000, maxMs: 30_000 };
    expect(backoffDelay(1, { ...options, random: () => 0 })).toBe(500);
    expect(backoffDelay(1, { ...options, random: () => 0.999999 })).toBeCloseTo(1000, 0);
    expect(backoffDelay(4, { ...options, random: () => 0 })).toBe(4000);
    expect(backoffDelay(5, { ...options, random: () => 0.5 })).toBe(12_000);
    for (const failures of [6, 10, 1000]) {
      const delay = backoffDelay(failures, options);
      expect(delay).toBeGreaterThanOrEqual(15_000);
      expect(delay).toBeLessThanOrEqual(30_000);
    }
  });
});

describe('systemd unit', () => {
  const options = {
    node: '/usr/bin/node',
    coffer: '/opt/coffer/packages/cli/bin/coffer.js',
    configDir: '/etc/coffer',
    keysFile: '/etc/coffer/keys',
  };

  it('runs `coffer agent run` with the config directory and key file, from boot', () => {
    const unit = systemdUnit({ ...options, user: false });
    expect(unit).toContain(
      'ExecStart=/usr/bin/node /opt/coffer/packages/cli/bin/coffer.js agent run --config /etc/coffer --keys /etc/coffer/keys\n',
    );
    expect(unit).toMatch(/^After=network-online\.target$/m);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);
    expect(unitPath(false)).toBe('/etc/systemd/system/coffer-agent.service');
  });

  it('quotes paths with spaces, and a user unit starts at login', () => {
    const unit = systemdUnit({ ...options, user: true, configDir: '/home/ann/my config' });
    expect(unit).toContain('--config "/home/ann/my config" --keys');
    expect(unit).toMatch(/^WantedBy=default\.target$/m);
    expect(unitPath(true, { XDG_CONFIG_HOME: '/home/ann/.config' })).toBe(
      '/home/ann/.config/systemd/user/coffer-agent.service',
    );
  });
});

describe('stored keys', () => {
  it('round-trip through a 0600 file and refuse a readable one, another keyring or none', async () => {
    const { keys } = await createKeyring('a long enough passphrase', {
      kdf: { N: 1024, r: 8, p: 1 },
    });
    const path = join(dir(), 'keys');
    expect(await loadStoredKeys(path, keys.keyringId)).toBeUndefined();
    await saveStoredKeys(path, keys);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await loadStoredKeys(path, keys.keyringId)).toEqual(keys);
    await expect(loadStoredKeys(path, '00'.repeat(16))).rejects.toThrow(
      /keys of keyring .* not 0{32}/,
    );
    await chmod(path, 0o644);
    await expect(loadStoredKeys(path, keys.keyringId)).rejects.toThrow(/chmod 600/);
  });
});

describe('daemon log', () => {
  it('writes one JSON object per line: information to stdout, problems to stderr', () => {
    const out: string[] = [];
    const err: string[] = [];
    const log = jsonLog(
      { write: (t: string) => out.push(t) },
      { write: (t: string) => err.push(t) },
      () => new Date('2026-01-01T00:00:00Z'),
    );
    log.info('job started', { job: 'jb_1', paths: ['/a'] });
    log.warn('cannot reach the vault', { attempt: 2 });
    log.error('job failed');
    expect(out).toEqual([
      '{"time":"2026-01-01T00:00:00.000Z","level":"info","msg":"job started","job":"jb_1","paths":["/a"]}\n',
    ]);
    expect(err.map((l) => (JSON.parse(l) as { level: string }).level)).toEqual(['warn', 'error']);
  });
});

describe('job reporter', () => {
  /** A vault stand-in that answers progress reports with `answers` in turn. */
  function fakeVault(answers: (boolean | Error)[], finishes: (Job | Error)[] = []) {
    const reports: ProgressReport[] = [];
    const finished: FinishRequest[] = [];
    return {
      reports,
      finished,
      client: {
        reportProgress(_id: string, report: ProgressReport) {
          reports.push(report);
          const answer = answers.shift() ?? false;
          return answer instanceof Error
            ? Promise.reject(answer)
            : Promise.resolve({ cancel: answer });
        },
        finishJob(_id: string, outcome: FinishRequest) {
          finished.push(outcome);
          const next = finishes.shift();
          return next instanceof Error ? Promise.reject(next) : Promise.resolve(next as Job);
        },
      },
    };
  }

  async function until(check: () => boolean): Promise<void> {
    while (!check()) await new Promise((r) => setTimeout(r, 5));
  }

  it('keeps reporting through an unreachable vault and stops the work once on cancel', async () => {
    const vault = fakeVault([
      new VaultUnreachableError('https://v', new Error('down')),
      false,
      true,
      true,
    ]);
    const stops: string[] = [];
    let bytes = 0;
    const reporter = new JobReporter({
      client: vault.client,
      jobId: 'jb_1',
      snapshot: () => ({ bytesDone: (bytes += 10), filesDone: 1 }),
      onStop: (reason) => stops.push(reason),
      intervalMs: 5,
    });
    reporter.start();
    await until(() => vault.reports.length >= 4);
    await reporter.close();
    expect(stops).toEqual(['cancelled']);
    expect(vault.reports.slice(0, 3).map((r) => r.bytesDone)).toEqual([10, 20, 30]);
  });

  it('stops the work when the vault has ended the job (409), and then delivers nothing', async () => {
    const ended = new VaultError(409, 'JOB_STATE', 'job jb_1 is failed, not running');
    const vault = fakeVault([ended], [ended]);
    const stops: string[] = [];
    const reporter = new JobReporter({
      client: vault.client,
      jobId: 'jb_1',
      snapshot: () => ({ bytesDone: 0, filesDone: 0 }),
      onStop: (reason) => stops.push(reason),
      intervalMs: 5,
    });
    reporter.start();
    await until(() => stops.length > 0);
    expect(stops).toEqual(['ended']);
    expect(await reporter.finish({ state: 'failed' })).toBeUndefined();
  });

  it('retries the outcome while the vault is unreachable, then delivers it once', async () => {
    const done = { id: 'jb_1', state: 'succeeded' } as Job;
    const down = new VaultUnreachableError('https://v', new Error('refused'));
    const vault = fakeVault([], [down, down, done]);
    const reporter = new JobReporter({
      client: vault.client,
      jobId: 'jb_1',
      snapshot: () => ({ bytesDone: 0, filesDone: 0 }),
      onStop: () => undefined,
    });
    expect(await reporter.finish({ state: 'succeeded', point: 'ab'.repeat(32) })).toBe(done);
    expect(vault.finished).toHaveLength(3);
  });
});

describe('run markers', () => {
  /** The pid of a process that has exited. */
  function deadPid(): number {
    return spawnSync(process.execPath, ['-e', '0']).pid!;
  }

  it("end a dead process's backup job so that the next backup of the item can start at once", async () => {
    const markers = new RunMarkers(join(dir(), 'markers'));
    const unmark = await markers.mark('docs', 'jb_live');
    // This process is alive: its marker is not stale, and a refusal stands.
    expect(await markers.stale('docs')).toBeUndefined();
    const busy = new VaultError(409, 'ALREADY_RUNNING', 'item docs is being backed up already');
    const calls: string[] = [];
    // The vault refuses while the item's job is running, and accepts once it has ended.
    let running = true;
    const client = {
      startManualJob: () => {
        calls.push('start');
        return running ? Promise.reject(busy) : Promise.resolve({ id: 'jb_new' } as Job);
      },
      finishJob: (id: string, outcome: FinishRequest) => {
        calls.push(`finish ${id} ${outcome.state}`);
        running = false;
        return Promise.resolve({ id } as Job);
      },
    };
    await expect(startManualBackup(client, 'ag_1', markers, 'docs')).rejects.toBe(busy);
    await unmark();
    // A marker left by a killed process: its job is ended, then the backup starts.
    const pid = deadPid();
    await markers.mark('docs', 'jb_dead');
    const path = join(dir(), 'markers', 'running');
    const [file] = await readdir(path);
    await writeFile(join(path, file!), JSON.stringify({ job: 'jb_dead', item: 'docs', pid }));
    expect(await markers.allStale()).toEqual([{ job: 'jb_dead', item: 'docs', pid }]);
    calls.length = 0;
    expect((await startManualBackup(client, 'ag_1', markers, 'docs')).id).toBe('jb_new');
    expect(calls).toEqual(['start', 'finish jb_dead failed', 'start']);
    expect(await markers.allStale()).toEqual([]);
  });
});
