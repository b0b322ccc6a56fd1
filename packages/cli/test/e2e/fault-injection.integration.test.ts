/**
 * Fault injection (issue 9, acceptance): SIGKILL of the agent at random moments of backups and
 * restores, and of the vault at random moments of uploads and commits, each followed by a rerun.
 * After every rerun: every visible point passes `verify --read-data`, every point not checked
 * before restores byte-identically (older ones were, and verify proves their blobs unchanged),
 * and no temporary file is left in a restore target. Seeded: the seed is printed, and
 * COFFER_FAULT_SEED=N replays the same choices and kill moments. The faulted commands are real
 * processes; reruns and checks use the same agent engine in this process, with the keyring
 * opened once, so that the test spends its time on faults rather than on stretching passphrases.
 */
import { Backup, BlobReader, Restore, VaultClient, Verifier, loadAgent } from '@coffer/agent';
import { openKeyring, type MasterKeys } from '@coffer/core';
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentsOf, snapshot } from './fixture.js';
import {
  json,
  PASSPHRASE,
  registerMachine,
  setupTenant,
  tempDir,
  VaultProcess,
  type Machine,
  type RunResult,
} from './harness.js';

const SEED = Number(process.env.COFFER_FAULT_SEED ?? randomInt(2 ** 31));
const KILLS = 10;
/** The dataset: DIRS × FILES small files and four of 300 kB, about 1.7 MB. */
const DIRS = 8;
const FILES = 25;

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('fault injection', () => {
  const random = seeded(SEED);
  const pick = (n: number): number => Math.floor(random() * n);
  const replay = `seed ${SEED} (replay with COFFER_FAULT_SEED=${SEED})`;
  let work: { path: string; cleanup(): Promise<void> };
  let vault: VaultProcess;
  let listen = '';
  let machine: Machine;
  let source: string;
  /** What each visible point must restore to. */
  const expected = new Map<string, object[]>();
  const checked = new Set<string>();
  /**
   * Duration of an unkilled incremental backup, the scale of kill moments: the shortest seen, so
   * that a slow first measure does not push kill moments past the end of later runs.
   */
  let backupMs = 0;
  /** The machine's agent engine in this process, for reruns and checks. */
  let agent: { client: VaultClient; agentId: string; keys: MasterKeys; cacheDir: string };

  beforeAll(async () => {
    process.stdout.write(`fault injection: ${replay}\n`);
    work = await tempDir('coffer-faults-');
    vault = new VaultProcess(join(work.path, 'vault'));
    await vault.start();
    // Restarts after a kill listen on the same port: the agent's registration names it.
    listen = `127.0.0.1:${new URL(vault.url).port}`;
    machine = await registerMachine(vault, await setupTenant(vault, 'faults'), work.path, 'f');
    source = join(work.path, 'src');
    for (let d = 0; d < DIRS; d++) {
      await mkdir(join(source, `d${d}`), { recursive: true });
      for (let f = 0; f < FILES; f++)
        await writeFile(join(source, `d${d}`, `f${f}.txt`), randomBytes(500 + pick(4000)));
    }
    for (let b = 0; b < 4; b++) await writeFile(join(source, `big${b}.bin`), randomBytes(300_000));
    const loaded = await loadAgent(machine.configDir);
    agent = {
      client: new VaultClient({
        url: loaded.state.url,
        fingerprint: loaded.state.fingerprint,
        token: loaded.token,
      }),
      agentId: loaded.state.agentId,
      keys: await openKeyring(loaded.keyring, PASSPHRASE),
      cacheDir: join(loaded.dir, 'cache', loaded.state.keyringId),
    };
  });

  afterAll(async () => {
    await agent?.client.close();
    await vault?.stop();
    await work?.cleanup();
  });

  /** Changes a few files, adds one and removes one, as between two real backups. */
  async function mutate(round: number): Promise<void> {
    for (let i = 0; i < 3; i++)
      await writeFile(join(source, `d${pick(DIRS)}`, `f${pick(FILES)}.txt`), randomBytes(1000));
    await writeFile(join(source, `big${pick(4)}.bin`), randomBytes(300_000));
    await writeFile(join(source, `d${pick(DIRS)}`, `new-${round}.txt`), randomBytes(2000));
    await rm(join(source, `d${pick(DIRS)}`, `f${pick(FILES)}.txt`), { force: true });
  }

  /**
   * Runs an agent command and, after `killAfterMs` unless it ended, kills it (SIGKILL) or runs
   * `fault` instead; resolves once both are over, telling whether the fault struck.
   */
  async function runKilled(
    args: string[],
    killAfterMs: number,
    fault?: () => Promise<void>,
  ): Promise<{ result: RunResult; struck: boolean; ms: number }> {
    let timer: NodeJS.Timeout | undefined;
    let struck: Promise<void> | undefined;
    const started = Date.now();
    const result = await machine.run(
      args,
      {},
      {
        onSpawn: (child: ChildProcess) => {
          timer = setTimeout(() => {
            struck = fault ? fault() : Promise.resolve(void child.kill('SIGKILL'));
          }, killAfterMs);
        },
      },
    );
    const ms = Date.now() - started;
    clearTimeout(timer);
    await struck;
    return { result, struck: struck !== undefined, ms };
  }

  async function points(): Promise<string[]> {
    return (await agent.client.points(agent.agentId)).points.map((p) => p.id);
  }

  /** The rerun of a backup: the same engine as `coffer backup`, with the same caches. */
  async function backup(): Promise<string> {
    const run = new Backup({
      client: agent.client,
      agentId: agent.agentId,
      keys: agent.keys,
      cacheDir: agent.cacheDir,
      paths: [source],
      item: 'default',
      excludes: [],
      hostname: 'faults',
      username: 'faults',
      program: 'fault-injection',
    });
    const { point, warnings } = await run.run();
    expect(warnings, replay).toEqual([]);
    return point.id;
  }

  async function tempsLeft(dir: string): Promise<string[]> {
    const found: string[] = [];
    for (const entry of await readdir(dir, { recursive: true, withFileTypes: true }))
      if (entry.name.startsWith('.coffer-restore-')) found.push(join(entry.parentPath, entry.name));
    return found;
  }

  /** Restores `point` into `target` (again, after a kill) and checks it byte for byte. */
  async function restoreChecked(point: string, target: string): Promise<void> {
    const warnings: unknown[] = [];
    await new Restore({
      reader: new BlobReader(agent.client, agent.agentId, agent.keys),
      pointId: point,
      target,
      conflict: 'overwrite',
      onWarning: (w) => warnings.push(w),
    }).run();
    expect(warnings, `${replay}: restore ${point}`).toEqual([]);
    expect(contentsOf(await snapshot(join(target, source))), `${replay}: ${point}`).toEqual(
      expected.get(point),
    );
    expect(await tempsLeft(target), replay).toEqual([]);
    checked.add(point);
  }

  /**
   * Records the dataset for the points a backup creates, runs it with a fault, reruns it and
   * checks every point; tells whether the fault struck while the backup ran.
   */
  async function backupWithFault(
    round: number,
    killAfterMs: number,
    fault?: () => Promise<void>,
  ): Promise<boolean> {
    await mutate(round);
    const state = contentsOf(await snapshot(source));
    const before = new Set(await points());
    const faulted = await runKilled(['backup', source, '--json'], killAfterMs, fault);
    if (!faulted.struck) backupMs = Math.min(backupMs, faulted.ms);
    // Whatever the fault did, the rerun must complete the backup.
    await backup();
    for (const id of await points()) if (!before.has(id)) expected.set(id, state);
    const verifier = new Verifier(new BlobReader(agent.client, agent.agentId, agent.keys), true);
    for (const id of await points()) await verifier.verifyPoint(id);
    expect(verifier.result.damage, `${replay}: round ${round}: ${faulted.result.stderr}`).toEqual(
      [],
    );
    for (const id of expected.keys())
      if (!checked.has(id)) await restoreChecked(id, join(work.path, `check-${id.slice(0, 12)}`));
    return faulted.struck;
  }

  it(`survives ${KILLS} kills each of the agent in backup and restore and of the vault in upload and commit`, async () => {
    const first = await machine.run(['backup', source, '--json']);
    expect(first.code, first.stderr).toBe(0);
    expected.set(
      json<{ point: { id: string } }>(first).point.id,
      contentsOf(await snapshot(source)),
    );
    await mutate(0);
    const started = Date.now();
    const timed = await machine.run(['backup', source, '--json']);
    backupMs = Date.now() - started;
    expect(timed.code, timed.stderr).toBe(0);
    expected.set(
      json<{ point: { id: string } }>(timed).point.id,
      contentsOf(await snapshot(source)),
    );

    // Rounds go on until KILLS faults struck while the command ran (a late one may miss).
    let round = 0;
    for (let kills = 0; kills < KILLS;) {
      if (await backupWithFault(++round, 0.8 * backupMs * random())) kills++;
    }
    for (let kills = 0; kills < KILLS;) {
      // Uploads and the commit come after the passphrase is stretched and the tree walked.
      const at = backupMs * (0.3 + 0.5 * random());
      const struck = await backupWithFault(++round, at, async () => {
        await vault.kill();
        await vault.start(listen);
      });
      if (struck) kills++;
    }
    const visible = await points();
    for (let kills = 0, k = 0; kills < KILLS; k++) {
      const point = visible[pick(visible.length)]!;
      const target = join(work.path, `restore-kill-${k}`);
      const { struck } = await runKilled(
        ['restore', point, '--target', target],
        backupMs * random(),
      );
      await restoreChecked(point, target);
      if (struck) kills++;
    }
    process.stdout.write(`fault injection: ${round} backup rounds, ${replay}\n`);
  }, 420_000);
});
