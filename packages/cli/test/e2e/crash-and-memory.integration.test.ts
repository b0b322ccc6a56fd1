import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  json,
  registerMachine,
  setupTenant,
  tempDir,
  VaultProcess,
  type Machine,
} from './harness.js';

interface BackupJson {
  point: { id: string; stats: { storedBytes: number; addedBytes: number; bytes: number } };
  resources: { maxRssBytes: number };
}

async function writeRandomFiles(dir: string, files: number, mib: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let f = 0; f < files; f++) {
    const handle = await open(join(dir, `file-${f}.bin`), 'w');
    for (let i = 0; i < mib; i++) await handle.write(randomBytes(1024 * 1024));
    await handle.close();
  }
}

async function countPacks(dataDir: string): Promise<number> {
  const root = join(dataDir, 'blobs', 'packs');
  let n = 0;
  for (const keyring of await readdir(root).catch(() => [])) {
    for (const fan of await readdir(join(root, keyring)))
      n += (await readdir(join(root, keyring, fan))).length;
  }
  return n;
}

describe('crash safety and bounded memory', () => {
  let work: { path: string; cleanup(): Promise<void> };
  let vault: VaultProcess;
  let machine: Machine;

  beforeAll(async () => {
    work = await tempDir('coffer-crash-');
    vault = new VaultProcess(join(work.path, 'vault'));
    await vault.start();
    const tenant = await setupTenant(vault, 'crash');
    machine = await registerMachine(vault, tenant, work.path, 'victim');
  });

  afterAll(async () => {
    await vault?.stop();
    await work?.cleanup();
  });

  it('leaves no visible point when the agent is killed mid-backup, and the next backup reuses the upload', async () => {
    const source = join(work.path, 'crash-src');
    await writeRandomFiles(source, 6, 64);
    const total = 6 * 64 * 1024 * 1024;
    let killedAfter = 0;
    const killed = await machine.run(
      ['backup', source, '--item', 'crash', '--json'],
      {},
      {
        onSpawn: (child: ChildProcess) => {
          const timer = setInterval(() => {
            void countPacks(vault.dataDir).then((n) => {
              if (n >= 3 && child.exitCode === null) {
                killedAfter = n;
                child.kill('SIGKILL');
                clearInterval(timer);
              }
            });
          }, 20);
          child.on('exit', () => clearInterval(timer));
        },
      },
    );
    expect(killed.code).toBe(128);
    expect(killedAfter).toBeGreaterThanOrEqual(3);
    const points = await machine.run(['points', '--item', 'crash', '--json']);
    expect(points.code).toBe(1);
    expect(points.stderr).toMatch(/no item crash here/);

    const again = await machine.run(['backup', source, '--item', 'crash', '--json']);
    expect(again.code, again.stderr).toBe(0);
    const { stats } = json<BackupJson>(again).point;
    expect(stats.bytes).toBe(total);
    // Packs stored before the kill were not sent again.
    expect(stats.storedBytes).toBeLessThan(total - 2 * 16 * 1024 * 1024);
  });

  it('keeps agent peak memory flat (within 2x) when the dataset grows from 200 MB to 2 GB', async () => {
    const small = join(work.path, 'mem-small');
    const large = join(work.path, 'mem-large');
    await writeRandomFiles(small, 5, 40);
    await writeRandomFiles(large, 50, 40);
    const a = json<BackupJson>(
      await machine.run(['backup', small, '--item', 'mem-small', '--json']),
    );
    const b = json<BackupJson>(
      await machine.run(['backup', large, '--item', 'mem-large', '--json']),
    );
    expect(b.point.stats.bytes).toBe(10 * a.point.stats.bytes);
    expect(b.resources.maxRssBytes).toBeLessThan(2 * a.resources.maxRssBytes);
  }, 900_000);
});
