/**
 * Data safety end to end (issue 9, points 1–8): lost blobs and packs never let a backup commit a
 * point that cannot restore, damage is named per point and file, the rest still restores, and
 * every later backup heals.
 */
import { parsePack } from '@coffer/core';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentsOf, snapshot } from './fixture.js';
import {
  createPgDatabase,
  DIALECTS,
  json,
  registerMachine,
  setupTenant,
  tempDir,
  VaultProcess,
  type Machine,
  type TestDb,
} from './harness.js';

/** Just over one pack: the first pack of its backup then holds only this file's data. */
const BIG = 17 * 1024 * 1024;
/** Each of two files whose data fills exactly two packs of data only (see its test). */
const TWO_PACKS = 21 * 1024 * 1024;

interface BackupJson {
  point: { id: string; stats: { unchangedFiles: number; addedBytes: number } };
  warnings: { path: string; message: string }[];
}
interface VerifyJson {
  damage: { point: string; path: string; message: string }[];
  packs: { pack: string; vaultState?: string }[];
}

/** Every pack file of the vault, newest first. */
async function packFiles(
  dataDir: string,
): Promise<{ path: string; name: string; mtime: number }[]> {
  const root = join(dataDir, 'blobs', 'packs');
  const out: { path: string; name: string; mtime: number }[] = [];
  for (const keyring of await readdir(root).catch(() => [] as string[]))
    for (const fan of await readdir(join(root, keyring)))
      for (const name of await readdir(join(root, keyring, fan))) {
        const path = join(root, keyring, fan, name);
        out.push({ path, name, mtime: (await stat(path)).mtimeMs });
      }
  return out.sort((a, b) => b.mtime - a.mtime);
}

/** The pack files stored now, so that a case can tell which packs its backups added. */
async function packSet(dataDir: string): Promise<Set<string>> {
  return new Set((await packFiles(dataDir)).map((p) => p.path));
}

/**
 * Packs added since the `before` set whose footers list a blob of `type` (1 data, 2 tree,
 * 3 manifest). By set, not by time: mtimes are coarse, and truncating a pack renews its mtime.
 */
async function packsWith(dataDir: string, type: number, before: Set<string> = new Set()) {
  const out = [];
  for (const p of await packFiles(dataDir)) {
    if (before.has(p.path)) continue;
    const bytes = await readFile(p.path);
    const { entries } = parsePack(bytes);
    if (entries.some((e) => e.type === type)) out.push({ ...p, bytes, entries });
  }
  return out;
}

describe.each(DIALECTS)('data safety (%s metadata)', (dialect) => {
  let work: { path: string; cleanup(): Promise<void> };
  let db: TestDb | undefined;
  let vault: VaultProcess;
  let machine: Machine;

  /** Runs SQL on the vault's metadata database behind its back, as an operator could. */
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

  /** How many times agents asked the vault which ids it holds (audited calls). */
  async function existsCalls(): Promise<number> {
    const query = `SELECT COUNT(*) AS n FROM audit_log WHERE action = 'blobs.exists'`;
    if (db?.url) {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const { rows } = await client.query<{ n: string }>(query);
      await client.end();
      return Number(rows[0]!.n);
    }
    const sqlite = new Database(join(vault.dataDir, 'metadata.sqlite'), { readonly: true });
    const { n } = sqlite.prepare(query).get() as { n: number };
    sqlite.close();
    return n;
  }

  async function backup(dir: string, item: string, extra: string[] = []) {
    const result = await machine.run(['backup', dir, '--item', item, '--json', ...extra]);
    expect([0, 3], result.stderr).toContain(result.code);
    return { ...json<BackupJson>(result), code: result.code, stderr: result.stderr };
  }

  async function verify(point: string) {
    const result = await machine.run(['verify', point, '--read-data', '--json']);
    return { code: result.code, ...json<VerifyJson>(result) };
  }

  async function restoresIdentically(point: string, dir: string): Promise<void> {
    const target = join(work.path, `restore-${point.slice(0, 8)}-${Math.random()}`);
    const result = await machine.run(['restore', point, '--target', target]);
    expect(result.code, result.stderr).toBe(0);
    expect(contentsOf(await snapshot(join(target, dir)))).toEqual(contentsOf(await snapshot(dir)));
  }

  /**
   * A source whose keep/a.bin is unchanged by later backups. With `big`, a.bin fills a pack of
   * its own (packs are cut at 16 MiB), so that pack holds data only, not the point's trees.
   */
  async function source(name: string, big = false): Promise<string> {
    const dir = join(work.path, name);
    await mkdir(join(dir, 'keep'), { recursive: true });
    await mkdir(join(dir, 'later'), { recursive: true });
    await writeFile(join(dir, 'keep', 'a.bin'), randomBytes(big ? BIG : 200_000));
    await writeFile(join(dir, 'keep', 'b.txt'), `unchanged ${name}\n`);
    await writeFile(join(dir, 'later', 'c.txt'), 'first\n');
    return dir;
  }

  beforeAll(async () => {
    work = await tempDir('coffer-safety-');
    db = dialect === 'postgres' ? await createPgDatabase() : undefined;
    vault = new VaultProcess(join(work.path, 'vault'), db?.url);
    await vault.start();
    const tenant = await setupTenant(vault, 'safe');
    machine = await registerMachine(vault, tenant, work.path, 'safe');
  });

  afterAll(async () => {
    await vault?.stop();
    await db?.drop();
    await work?.cleanup();
  });

  it('re-reads unchanged files whose blob rows were deleted, so the next point restores (point 1)', async () => {
    const since = await packSet(vault.dataDir);
    const dir = await source('rows');
    const first = await backup(dir, 'rows');
    const [pack] = await packsWith(vault.dataDir, 1, since);
    await operatorSql(
      `DELETE FROM blobs WHERE type = 1 AND pack = (SELECT seq FROM packs WHERE name = '${pack!.name}')`,
    );
    await writeFile(join(dir, 'later', 'c.txt'), 'second\n');
    const second = await backup(dir, 'rows');
    expect(second.point.stats.addedBytes).toBeGreaterThan(200_000);
    expect((await verify(second.point.id)).damage).toEqual([]);
    await restoresIdentically(second.point.id, dir);
    // The first point refers to the same ids, now stored again: it heals, all but the old
    // version of the changed file, which no backup could upload again.
    const healed = await verify(first.point.id);
    expect(healed.damage.map((d) => d.path)).toEqual([join(dir, 'later', 'c.txt')]);
  });

  it('re-reads unchanged files whose pack was moved away, and heals the earlier points (point 1)', async () => {
    const since = await packSet(vault.dataDir);
    const dir = join(work.path, 'moved');
    await mkdir(join(dir, 'keep'), { recursive: true });
    await writeFile(join(dir, 'keep', 'a.bin'), randomBytes(BIG));
    const first = await backup(dir, 'moved');
    // a.bin's first pack holds its data only; keep/'s tree is in the next one.
    const dataOnly = (await packsWith(vault.dataDir, 1, since)).find((p) =>
      p.entries.every((e) => e.type === 1),
    )!;
    await mkdir(join(dir, 'later'));
    await writeFile(join(dir, 'later', 'c.txt'), 'first\n');
    const second = await backup(dir, 'moved');
    await rename(dataOnly.path, `${dataOnly.path}.away`);
    await writeFile(join(dir, 'later', 'c.txt'), 'second\n');
    const third = await backup(dir, 'moved');
    expect((await verify(third.point.id)).damage).toEqual([]);
    await restoresIdentically(third.point.id, dir);
    expect((await verify(second.point.id)).damage).toEqual([]);
    expect((await verify(first.point.id)).damage).toEqual([]);
  });

  it('asks about no cached id while the vault lost nothing, and about every one after a loss (point 1)', async () => {
    const since = await packSet(vault.dataDir);
    const dir = join(work.path, 'epoch');
    await mkdir(join(dir, 'keep'), { recursive: true });
    await writeFile(join(dir, 'keep', 'a.bin'), randomBytes(BIG));
    await backup(dir, 'epoch');
    const dataOnly = (await packsWith(vault.dataDir, 1, since)).find((p) =>
      p.entries.every((e) => e.type === 1),
    )!;
    const asked = await existsCalls();
    const unchanged = await backup(dir, 'epoch');
    expect(unchanged.point.stats.addedBytes).toBe(0);
    expect(await existsCalls()).toBe(asked);
    // A pack file gone behind the vault's back is found before the agent trusts its cache.
    await rename(dataOnly.path, `${dataOnly.path}.away`);
    const after = await backup(dir, 'epoch');
    expect(await existsCalls()).toBeGreaterThan(asked);
    expect(after.point.stats.addedBytes).toBeGreaterThan(BIG / 2);
    expect((await verify(after.point.id)).damage).toEqual([]);
    await restoresIdentically(after.point.id, dir);
  });

  it('lists every damaged file and pack, reports them, and the next backup heals (points 1, 4, 5)', async () => {
    const since = await packSet(vault.dataDir);
    const dir = await source('damaged');
    const first = await backup(dir, 'damaged');
    const [data] = await packsWith(vault.dataDir, 1, since);
    // The footer only: every blob still opens, but the pack no longer matches its name.
    const bytes = data!.bytes;
    bytes[bytes.length - 30]! ^= 1;
    await writeFile(data!.path, bytes);
    const report = await verify(first.point.id);
    expect(report.code).toBe(1);
    expect(report.damage.map((d) => d.point)).toContain(first.point.id);
    expect(report.packs).toEqual([
      expect.objectContaining({ pack: data!.name, vaultState: 'damaged' }),
    ]);
    const second = await backup(dir, 'damaged');
    expect((await verify(second.point.id)).damage).toEqual([]);
    await restoresIdentically(second.point.id, dir);
  });

  it('verify goes on past a missing and a truncated pack and names every file (point 4)', async () => {
    const since = await packSet(vault.dataDir);
    const dir = join(work.path, 'two-packs');
    await mkdir(dir);
    // 42 MiB of data in chunks of up to 8 MiB, packs cut once they reach 16 MiB: the first
    // pack holds 16–24 MiB, the second fills up too (18 MiB or more remain), and what is left
    // (under 16 MiB) goes with the trees. With 17 MiB files the second pack could take the
    // whole rest and the trees, depending on where the random data put the chunk boundaries.
    await writeFile(join(dir, 'x.bin'), randomBytes(TWO_PACKS));
    await writeFile(join(dir, 'y.bin'), randomBytes(TWO_PACKS));
    const { point } = await backup(dir, 'two-packs');
    // Two packs of data only: x's first part, then the rest of x and much of y.
    const packs = (await packsWith(vault.dataDir, 1, since)).filter((p) =>
      p.entries.every((e) => e.type === 1),
    );
    expect(packs.length).toBe(2);
    await rm(packs[0]!.path);
    await truncate(packs[1]!.path, 1000);
    const result = await machine.run(['verify', point.id, '--read-data']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`${dir}/x.bin`);
    expect(result.stdout).toContain(`${dir}/y.bin`);
    expect(result.stdout).toContain(`Damaged points: ${point.id.slice(0, 12)}`);
    // Names, not where the vault keeps them.
    expect(result.stdout).not.toMatch(/packs\/[^ ]+\/[0-9a-f]{2}\//);
  });

  it('restores every file it can around a missing pack and a missing blob, names the others, exits 3 (points 2, 3)', async () => {
    const since = await packSet(vault.dataDir);
    const dir = join(work.path, 'partly');
    await mkdir(join(dir, 'old'), { recursive: true });
    await writeFile(join(dir, 'old', 'gone.bin'), randomBytes(BIG));
    for (let i = 0; i < 20; i++) await writeFile(join(dir, 'old', `small-${i}.txt`), `${i}\n`);
    await backup(dir, 'partly');
    const dataOnly = (await packsWith(vault.dataDir, 1, since)).find((p) =>
      p.entries.every((e) => e.type === 1),
    )!;
    const later = await packSet(vault.dataDir);
    await mkdir(join(dir, 'new'));
    await writeFile(join(dir, 'new', 'kept.txt'), 'kept\n');
    await writeFile(join(dir, 'new', 'also.txt'), 'also\n');
    const point = (await backup(dir, 'partly')).point.id;
    await rename(dataOnly.path, `${dataOnly.path}.away`);
    // And one small file's blob row: the path where a missing small file crashed restore.
    const [newPack] = await packsWith(vault.dataDir, 1, later);
    const dataIds = newPack!.entries.filter((e) => e.type === 1).map((e) => e.id.toString('hex'));
    expect(dataIds.length).toBe(2);
    // Blob ids are stored as bytes (migration 0007).
    const id = db?.url ? `decode('${dataIds[0]}', 'hex')` : `X'${dataIds[0]}'`;
    await operatorSql(`DELETE FROM blobs WHERE id = ${id}`);
    const target = join(work.path, 'partly-restored');
    const result = await machine.run(['restore', point, '--target', target]);
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).not.toMatch(/destroyed|cannot reach|TypeError/);
    // Every file is either restored or named with why; the missing pack held gone.bin's data.
    expect(result.stderr).toMatch(/old\/gone\.bin: .*pack [0-9a-f]{64} is missing/);
    expect(result.stderr).toMatch(
      /new\/(kept|also)\.txt: not restored: blob [0-9a-f]{64} is missing/,
    );
    const restored = new Set([
      ...(await readdir(join(target, dir, 'old'))).map((n) => `old/${n}`),
      ...(await readdir(join(target, dir, 'new'))).map((n) => `new/${n}`),
    ]);
    expect(restored.size).toBeGreaterThan(1);
    const all = ['old/gone.bin', 'new/kept.txt', 'new/also.txt'];
    for (let i = 0; i < 20; i++) all.push(`old/small-${i}.txt`);
    for (const file of all) {
      const named = result.stderr.includes(`${join(dir, file)}: `);
      expect(restored.has(file) !== named, file).toBe(true);
    }
  });

  it('backs up in full under an unreadable parent tree, warns once and succeeds (point 6)', async () => {
    const since = await packSet(vault.dataDir);
    const dir = await source('parent');
    await backup(dir, 'parent');
    for (const p of await packsWith(vault.dataDir, 2, since)) {
      for (const e of p.entries.filter((x) => x.type === 2)) p.bytes[e.offset + 40]! ^= 1;
      await writeFile(p.path, p.bytes);
    }
    await rm(join(machine.configDir, 'cache'), { recursive: true, force: true });
    await writeFile(join(dir, 'later', 'c.txt'), 'second\n');
    const second = await backup(dir, 'parent');
    expect((await verify(second.point.id)).damage).toEqual([]);
    await restoresIdentically(second.point.id, dir);
  });

  it('removes temporary files and directories a killed restore left, and only those (point 8)', async () => {
    const dir = await source('temps');
    const { point } = await backup(dir, 'temps');
    const target = join(work.path, 'temps-restored');
    const inside = join(target, dir, 'keep');
    await mkdir(inside, { recursive: true });
    await writeFile(join(inside, '.coffer-restore-0123456789ab'), 'left by a kill');
    await writeFile(join(target, '.coffer-restore-ba9876543210'), 'left by a kill');
    await writeFile(join(inside, '.coffer-restore-notmine'), 'a user file');
    // A new directory is filled under a temporary name and renamed into place when complete.
    const halfFilled = join(inside, '.coffer-restore-00000000cafe');
    await mkdir(join(halfFilled, 'sub'), { recursive: true });
    await writeFile(join(halfFilled, 'sub', 'a.bin'), 'half a fi');
    const result = await machine.run(['restore', point.id, '--target', target]);
    expect(result.code, result.stderr).toBe(0);
    expect((await readdir(inside)).sort()).toEqual(['.coffer-restore-notmine', 'a.bin', 'b.txt']);
    expect(await readdir(target)).not.toContain('.coffer-restore-ba9876543210');
  });
});

describe('a lost answer to a pack upload (point 7)', () => {
  let work: { path: string; cleanup(): Promise<void> };
  let vault: VaultProcess;
  let machine: Machine;
  let proxy: Server;
  let dropped = 0;

  beforeAll(async () => {
    work = await tempDir('coffer-drop-');
    vault = new VaultProcess(join(work.path, 'vault'));
    await vault.start();
    const tenant = await setupTenant(vault, 'drop');
    machine = await registerMachine(vault, tenant, work.path, 'drop');
    // A TCP proxy (TLS passes through) that cuts the connection when the vault starts to answer
    // the first request that carried more than 1 MiB: the vault stored the pack, the agent never
    // hears so and sends it again.
    const vaultPort = Number(new URL(vault.url).port);
    proxy = createServer((client) => {
      const server = connect(vaultPort, '127.0.0.1');
      let sent = 0;
      client.on('data', (d: Buffer) => {
        sent += d.length;
        server.write(d);
      });
      server.on('data', (d: Buffer) => {
        if (dropped === 0 && sent > 1024 * 1024) {
          dropped++;
          client.destroy();
          server.destroy();
          return;
        }
        client.write(d);
      });
      client.on('error', () => server.destroy());
      server.on('error', () => client.destroy());
      client.on('close', () => server.destroy());
      server.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const address = proxy.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const statePath = join(machine.configDir, 'agent.json');
    const state = JSON.parse(await readFile(statePath, 'utf8')) as { url: string };
    state.url = `https://127.0.0.1:${port}`;
    await writeFile(statePath, JSON.stringify(state));
  });

  afterAll(async () => {
    proxy?.close();
    await vault?.stop();
    await work?.cleanup();
  });

  it('succeeds: the agent sends the pack again and the vault accepts what it holds', async () => {
    const dir = join(work.path, 'src');
    await mkdir(dir);
    await writeFile(join(dir, 'big.bin'), randomBytes(3 * 1024 * 1024));
    const result = await machine.run(['backup', dir, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(dropped).toBe(1);
    const { point } = json<BackupJson>(result);
    const check = await machine.run(['verify', point.id, '--read-data']);
    expect(check.code, check.stdout).toBe(0);
  });
});
