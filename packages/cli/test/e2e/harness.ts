/**
 * Test harness for end-to-end tests: the vault and the CLI as real processes on loopback.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';

const ROOT = resolve(import.meta.dirname, '../../../..');
export const COFFER_BIN = join(ROOT, 'packages/cli/bin/coffer.js');
export const PASSPHRASE = 'correct horse battery staple';
/** Every end-to-end suite runs against both metadata databases. */
export const DIALECTS = ['sqlite', 'postgres'] as const;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `coffer ARGS` of the checkout and collects its output. */
export function runCoffer(
  args: string[],
  env: Record<string, string | undefined> = {},
  options: { input?: string; onSpawn?: (child: ChildProcess) => void } = {},
): Promise<RunResult> {
  return runProgram([process.execPath, COFFER_BIN], args, env, options);
}

/** Runs `PROGRAM ARGS` (e.g. an installed `coffer`) and collects its output. */
export function runProgram(
  program: string[],
  args: string[],
  env: Record<string, string | undefined> = {},
  options: { input?: string; onSpawn?: (child: ChildProcess) => void; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(program[0]!, [...program.slice(1), ...args], {
      ...(options.cwd ? { cwd: options.cwd } : {}),
      env: {
        ...process.env,
        COFFER_PASSPHRASE: undefined,
        COFFER_TOKEN: undefined,
        // Cheap keyrings: tests would otherwise spend most of their time stretching passphrases.
        COFFER_TESTONLY_WEAKEN_KDF: '1',
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    options.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr }),
    );
    child.stdin.end(options.input ?? '');
  });
}

/** Parses the JSON a --json command printed, with its stderr in the error when it fails. */
export function json<T>(result: RunResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${result.code}): ${result.stdout}\n${result.stderr}`);
  }
}

/** A metadata database for one test file: SQLite by default, or a fresh PostgreSQL database. */
export interface TestDb {
  url: string | undefined;
  drop(): Promise<void>;
}

export const PG_ADMIN_URL = process.env.COFFER_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Creates a fresh PostgreSQL database. */
export async function createPgDatabase(): Promise<TestDb> {
  const name = `coffer_test_${process.pid}_${Math.random().toString(16).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A running vault process with its service-admin token. */
export class VaultProcess {
  url = '';
  adminToken = '';
  /** What the vault printed so far. */
  output = '';
  /** More environment for the vault process, e.g. COFFER_TEST_CLOCK_FILE. */
  extraEnv: Record<string, string> = {};
  private child: ChildProcess | undefined;

  constructor(
    readonly dataDir: string,
    readonly db?: string,
    /** More `coffer vault serve` options, e.g. ['--smtp', 'smtp://127.0.0.1:2525']. */
    readonly serveArgs: string[] = [],
  ) {}

  /** Starts `coffer vault serve` on `listen` (default: a free loopback port). */
  async start(listen = '127.0.0.1:0'): Promise<void> {
    const args = ['vault', 'serve', '--data', this.dataDir, '--listen', listen];
    if (this.db) args.push('--db', this.db);
    args.push(...this.serveArgs);
    const child = spawn(process.execPath, [COFFER_BIN, ...args], {
      env: { ...process.env, ...this.extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.url = await new Promise<string>((resolvePromise, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`vault did not start: ${this.output}`)),
        30_000,
      );
      const onData = (d: Buffer): void => {
        this.output += d.toString();
        const match = /listening on (https:\/\/[^\s]+)/.exec(this.output);
        if (match) {
          clearTimeout(timer);
          resolvePromise(match[1]!);
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`vault exited with ${code}: ${this.output}`));
      });
    });
    this.adminToken = (await readFile(join(this.dataDir, 'admin.token'), 'utf8')).trim();
  }

  /** The vault process's id (to read its memory from /proc). */
  get pid(): number {
    if (this.child?.pid === undefined) throw new Error('the vault is not running');
    return this.child.pid;
  }

  /** Environment for admin commands against this vault. */
  env(token: string): Record<string, string> {
    return { COFFER_URL: this.url, COFFER_TOKEN: token, COFFER_DATA: this.dataDir };
  }

  /** Freezes the vault (SIGSTOP): it holds its connections and answers nothing until killed. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Kills the vault at once (SIGKILL), as a crash or a power cut would. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolvePromise) => {
      child.once('exit', () => resolvePromise());
      child.kill('SIGKILL');
    });
  }

  /** Stops the vault. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolvePromise) => {
      child.once('exit', () => resolvePromise());
      child.kill('SIGTERM');
    });
  }
}

/** A tenant with a vault, ready to register machines. */
export interface TenantSetup {
  ownerToken: string;
  vaultId: string;
  vaultName: string;
}

/** Creates a tenant and a vault in it. */
export async function setupTenant(vault: VaultProcess, name: string): Promise<TenantSetup> {
  const tenant = json<{ secret: string }>(
    await runCoffer(['tenant', 'create', name, '--json'], vault.env(vault.adminToken)),
  );
  const { vault: created } = json<{ vault: { id: string; name: string } }>(
    await runCoffer(['vault', 'create', `${name}-vault`, '--json'], vault.env(tenant.secret)),
  );
  return { ownerToken: tenant.secret, vaultId: created.id, vaultName: created.name };
}

/** A registered machine: its config dir and how to run agent commands. */
export class Machine {
  agentId = '';
  constructor(
    readonly configDir: string,
    readonly passphrase = PASSPHRASE,
  ) {}

  env(extra: Record<string, string> = {}): Record<string, string> {
    return { COFFER_CONFIG: this.configDir, COFFER_PASSPHRASE: this.passphrase, ...extra };
  }

  /** Runs an agent command as this machine. */
  run(
    args: string[],
    extra: Record<string, string | undefined> = {},
    options = {},
  ): Promise<RunResult> {
    return runCoffer(args, { ...this.env(), ...extra }, options);
  }
}

/** Registers a new machine into the tenant's vault (`unattended`: with stored keys). */
export async function registerMachine(
  vault: VaultProcess,
  tenant: TenantSetup,
  workDir: string,
  name: string,
  unattended = false,
): Promise<Machine> {
  const credentials = join(workDir, `${name}.credentials`);
  const made = await runCoffer(
    ['vault', 'credentials', tenant.vaultId, '--out', credentials],
    vault.env(tenant.ownerToken),
  );
  if (made.code !== 0) throw new Error(`credentials failed: ${made.stderr}`);
  const machine = new Machine(join(workDir, `${name}-config`));
  const result = json<{ agent: { id: string } }>(
    await machine.run([
      'register',
      '--credentials',
      credentials,
      '--name',
      name,
      '--json',
      ...(unattended ? ['--unattended'] : []),
    ]),
  );
  machine.agentId = result.agent.id;
  return machine;
}

/** A running `coffer agent run` of a machine, with the JSON lines it logged. */
export class DaemonProcess {
  /** Every line logged so far, parsed. */
  readonly lines: { level: string; msg: string; [field: string]: unknown }[] = [];
  private child: ChildProcess | undefined;
  private exited: Promise<number> | undefined;
  private rest = '';
  private readonly watchers: {
    test: (line: DaemonProcess['lines'][number]) => boolean;
    action: (line: DaemonProcess['lines'][number]) => void;
  }[] = [];

  constructor(
    readonly machine: Machine,
    /** More `agent run` arguments. */
    readonly extraArgs: string[] = ['--poll', '2', '--max-retry-delay', '1'],
  ) {}

  /** Starts the daemon. */
  start(): void {
    const child = spawn(process.execPath, [COFFER_BIN, 'agent', 'run', ...this.extraArgs], {
      env: {
        ...process.env,
        COFFER_TOKEN: undefined,
        ...this.machine.env({ COFFER_PASSPHRASE: '' }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const onData = (d: Buffer): void => {
      this.rest += d.toString();
      const parts = this.rest.split('\n');
      this.rest = parts.pop()!;
      for (const line of parts) {
        if (line.trim() === '') continue;
        let parsed: DaemonProcess['lines'][number];
        try {
          parsed = JSON.parse(line) as DaemonProcess['lines'][number];
        } catch {
          parsed = { level: 'text', msg: line };
        }
        this.lines.push(parsed);
        this.fire(parsed);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.exited = new Promise((resolvePromise) =>
      child.on('exit', (code, signal) => resolvePromise(code ?? (signal ? 128 : 1))),
    );
  }

  /**
   * Runs `action` as soon as a line matching `test` is read, with no polling delay: for a test
   * that must act while the daemon is still at a given step.
   */
  onceLogged(
    test: (line: DaemonProcess['lines'][number]) => boolean,
    action: (line: DaemonProcess['lines'][number]) => void,
  ): void {
    this.watchers.push({ test, action });
  }

  private fire(line: DaemonProcess['lines'][number]): void {
    const index = this.watchers.findIndex((w) => w.test(line));
    if (index >= 0) this.watchers.splice(index, 1)[0]!.action(line);
  }

  /** Resolves once a logged line matches `test`, or rejects after `ms`. */
  async waitFor(
    test: (line: DaemonProcess['lines'][number]) => boolean,
    ms = 60_000,
  ): Promise<DaemonProcess['lines'][number]> {
    const deadline = Date.now() + ms;
    for (;;) {
      const line = this.lines.find(test);
      if (line) return line;
      if (Date.now() > deadline) {
        throw new Error(`daemon never logged the line; it logged:\n${this.log()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Everything logged, one line each. */
  log(): string {
    return this.lines.map((l) => JSON.stringify(l)).join('\n');
  }

  /** Stops the daemon (SIGTERM, or `signal`) and resolves to its exit status. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number> {
    if (!this.child || !this.exited) return 0;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A temporary directory removed by `cleanup`. */
export async function tempDir(prefix: string): Promise<{ path: string; cleanup(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export { writeFile };

/**
 * Mounts a tmpfs of `size` (e.g. '6m') at `dir`, for tests of a full disk; returns how to
 * unmount it, or the reason it cannot be mounted here (not root, no mount permission).
 */
export function mountTinyDisk(
  dir: string,
  size: string,
): { unmount(): void } | { unavailable: string } {
  const mounted = spawnSync(
    'mount',
    ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir],
    {
      encoding: 'utf8',
    },
  );
  if (mounted.status !== 0) {
    return {
      unavailable: `cannot mount a tmpfs: ${mounted.stderr.trim() || mounted.error?.message}`,
    };
  }
  return { unmount: () => void spawnSync('umount', ['-l', dir]) };
}

/** Bytes of every pack file a vault stores under its data directory. */
export async function storedPackBytes(dataDir: string): Promise<number> {
  let total = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else total += (await stat(path)).size;
    }
  };
  await walk(join(dataDir, 'blobs', 'packs'));
  return total;
}
