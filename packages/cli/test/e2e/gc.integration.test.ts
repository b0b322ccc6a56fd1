/**
 * Garbage collection end to end (issue 13): GC runs in the vault with no agent process and no
 * passphrase, shrinks the stored bytes, and every remaining point restores and passes
 * `verify --read-data`; a backup running while GC and repack run commits and verifies, and so
 * does the next one.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentsOf, snapshot } from './fixture.js';
import {
  createPgDatabase,
  storedPackBytes,
  DIALECTS,
  json,
  registerMachine,
  runCoffer,
  setupTenant,
  tempDir,
  VaultProcess,
  type Machine,
  type TenantSetup,
  type TestDb,
} from './harness.js';

const MiB = 1024 * 1024;

interface BackupJson {
  point: { id: string };
}
interface GcJob {
  kind: string;
  state: string;
  result: {
    bytesBefore: number;
    bytesAfter: number;
    blobsCondemned: number;
    blobsSwept: number;
    packsRepacked: number;
    packsDeleted: number;
  };
}

describe.each(DIALECTS)('gc (%s metadata)', (dialect) => {
  let work: { path: string; cleanup(): Promise<void> };
  let db: TestDb | undefined;
  let vault: VaultProcess;
  let tenant: TenantSetup;
  let machine: Machine;

  /** Runs SQL on the vault's metadata database, as a purge of expired points would. */
  async function operatorSql(query: string): Promise<void> {
    if (db?.url) {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      await client.query(query);
      await client.end();
    } else {
      const sqlite = new Database(join(vault.dataDir, 'metadata.sqlite'));
      sqlite.exec(query);
      sqlite.close();
    }
  }

  /** Restarts the vault on the same data with other `vault serve` options. */
  async function restart(serveArgs: string[]): Promise<void> {
    // The same port: registered machines keep the vault's address.
    const listen = vault ? new URL(vault.url).host : undefined;
    await vault?.stop();
    vault = new VaultProcess(join(work.path, 'vault'), db?.url, serveArgs);
    await vault.start(listen);
  }

  async function backup(dir: string): Promise<string> {
    const result = await machine.run(['backup', dir, '--item', 'gc', '--json']);
    expect(result.code, result.stderr).toBe(0);
    return json<BackupJson>(result).point.id;
  }

  /** `coffer gc` as the tenant owner: no agent, no passphrase in its environment. */
  async function gc(): Promise<GcJob> {
    const result = await runCoffer(
      ['gc', tenant.vaultName, '--wait', '--json'],
      vault.env(tenant.ownerToken),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/passphrase/i);
    return json<GcJob>(result);
  }

  async function verifies(point: string): Promise<void> {
    const verified = await machine.run(['verify', point, '--read-data', '--json']);
    expect(verified.code, verified.stderr).toBe(0);
    expect(json<{ damage: unknown[] }>(verified).damage).toEqual([]);
  }

  /** The point passes verify --read-data and restores `dir` as it is now. */
  async function checkPoint(point: string, dir: string): Promise<void> {
    await verifies(point);
    const target = join(work.path, `restore-${point.slice(0, 8)}-${Math.random()}`);
    const restored = await machine.run(['restore', point, '--target', target]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(contentsOf(await snapshot(join(target, dir)))).toEqual(contentsOf(await snapshot(dir)));
  }

  beforeAll(async () => {
    work = await tempDir('coffer-gc-');
    db = dialect === 'postgres' ? await createPgDatabase() : undefined;
    // Grace 0: a blob condemned by one run is deleted by the next one.
    await restart(['--gc-grace', '0']);
    tenant = await setupTenant(vault, 'gc');
    machine = await registerMachine(vault, tenant, work.path, 'gc');
  });

  afterAll(async () => {
    await vault?.stop();
    await db?.drop();
    await work?.cleanup();
  });

  it('reclaims the data of deleted points with no agent and no passphrase; the rest restores', async () => {
    const dir = join(work.path, 'data');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'old.bin'), randomBytes(6 * MiB));
    await writeFile(join(dir, 'kept.bin'), randomBytes(1 * MiB));
    const first = await backup(dir);
    await rm(join(dir, 'old.bin'));
    await writeFile(join(dir, 'new.bin'), randomBytes(1 * MiB));
    const second = await backup(dir);
    const before = await storedPackBytes(vault.dataDir);
    // What a purge does: the point's row goes; its data is garbage from now on.
    await operatorSql(`DELETE FROM points WHERE id = '${first}'`);

    const condemn = await gc();
    expect(condemn).toMatchObject({ kind: 'gc', state: 'succeeded' });
    expect(condemn.result.blobsCondemned).toBeGreaterThan(0);
    const sweep = await gc();
    expect(sweep.result.blobsSwept).toBe(condemn.result.blobsCondemned);
    // old.bin and kept.bin shared a pack: under half of it is live now, so it was repacked.
    expect(sweep.result.packsRepacked).toBeGreaterThan(0);
    const remove = await gc();
    expect(remove.result.packsDeleted).toBeGreaterThan(0);
    const after = await storedPackBytes(vault.dataDir);
    expect(after).toBeLessThan(before - 5 * MiB);
    expect(remove.result.bytesAfter).toBe(after);

    const jobs = json<{ jobs: { kind: string }[] }>(
      await runCoffer(['jobs', '--json'], vault.env(tenant.ownerToken)),
    ).jobs;
    expect(jobs.filter((j) => j.kind === 'gc').length).toBeGreaterThanOrEqual(3);
    await checkPoint(second, dir);
  });

  it('a backup running while GC and repack run commits and verifies; so does the next one', async () => {
    // A grace longer than the backup; every pack with any dead byte is repacked, each run.
    await restart(['--gc-grace', '600', '--gc-repack-below', '100']);
    const dir = join(work.path, 'busy');
    await mkdir(dir, { recursive: true });
    for (let i = 0; i < 24; i++) await writeFile(join(dir, `f${i}.bin`), randomBytes(MiB));
    const parent = await backup(dir);
    // The deleted point's manifest shares its pack with data a kept point still uses, so once
    // the manifest is swept that pack really is part garbage: repacking it writes a new pack
    // (a pack with every blob live would be copied to the same bytes and name, and stay).
    for (let i = 24; i < 30; i++) await writeFile(join(dir, `f${i}.bin`), randomBytes(MiB));
    const garbage = await backup(dir);
    await backup(dir);
    await operatorSql(`DELETE FROM points WHERE id = '${garbage}'`);
    // The manifest, and the trees above the source if a directory there changed meanwhile
    // (other tests create and delete temporary directories beside it).
    expect((await gc()).result.blobsCondemned).toBeGreaterThanOrEqual(1);
    // As if the grace had passed for what it condemned: the first run below deletes it.
    await operatorSql('UPDATE blobs SET condemned_at = 1 WHERE condemned_at IS NOT NULL');
    for (let i = 0; i < 24; i += 2) await writeFile(join(dir, `f${i}.bin`), randomBytes(MiB));
    for (let i = 30; i < 48; i++) await writeFile(join(dir, `f${i}.bin`), randomBytes(MiB));

    let running = true;
    const during = machine.run(['backup', dir, '--item', 'gc', '--json']).finally(() => {
      running = false;
    });
    const runs: GcJob[] = [];
    while (running) runs.push(await gc());
    const result = await during;
    expect(result.code, result.stderr).toBe(0);
    const point = json<BackupJson>(result).point.id;
    expect(runs.length).toBeGreaterThan(0);
    expect(runs.some((r) => r.result.packsRepacked > 0)).toBe(true);
    await checkPoint(point, dir);
    await verifies(parent);

    await writeFile(join(dir, 'f1.bin'), randomBytes(MiB));
    const next = await backup(dir);
    await gc();
    await checkPoint(next, dir);
  });
});
