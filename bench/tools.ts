/**
 * The tools under test, each driven through its own command line with default settings:
 * Coffer (agent + a local vault on loopback, TLS on), restic (local repository, encryption on)
 * and borg (repokey; zstd,3 and lz4).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { measure, peakRssMiB, processCpuS, resetPeakRss, type Measurement } from './measure.js';

const COFFER = resolve(import.meta.dirname, '../packages/cli/bin/coffer.js');
const PASSPHRASE = 'benchmark passphrase, long enough';

export interface Tool {
  name: string;
  /** Prepares an empty repository in `work` (not measured). */
  setup(work: string): Promise<void>;
  backup(dataset: string, label: string): Promise<Measurement>;
  restore(target: string): Promise<Measurement>;
  verify(): Promise<Measurement>;
  storedBytes(): number;
  teardown(): Promise<void>;
}

function du(path: string): number {
  return Number(execFileSync('du', ['-sb', path]).toString().split('\t')[0]);
}

function run(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(argv[0]!, argv.slice(1), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
}

/** Coffer: a vault process on a loopback port and the agent CLI. */
export class CofferTool implements Tool {
  name = 'coffer';
  private vault: ChildProcess | undefined;
  private dataDir = '';
  private env: NodeJS.ProcessEnv = {};

  async setup(work: string): Promise<void> {
    this.dataDir = join(work, 'vault');
    const vault = spawn(
      process.execPath,
      [COFFER, 'vault', 'serve', '--data', this.dataDir, '--listen', '127.0.0.1:0'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    this.vault = vault;
    const url = await new Promise<string>((resolvePromise, reject) => {
      let out = '';
      vault.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (https:\/\/\S+)/.exec(out);
        if (m) resolvePromise(m[1]!);
      });
      vault.on('exit', (code) => reject(new Error(`vault exited ${code}`)));
    });
    const admin = (await readFile(join(this.dataDir, 'admin.token'), 'utf8')).trim();
    const adminEnv = { COFFER_URL: url, COFFER_DATA: this.dataDir };
    const tenant = JSON.parse(
      run([process.execPath, COFFER, 'tenant', 'create', 'bench', '--json'], {
        ...adminEnv,
        COFFER_TOKEN: admin,
      }),
    ) as { secret: string };
    const owner = { ...adminEnv, COFFER_TOKEN: tenant.secret };
    run([process.execPath, COFFER, 'vault', 'create', 'bench'], owner);
    const credentials = join(work, 'bench.credentials');
    run([process.execPath, COFFER, 'vault', 'credentials', 'bench', '--out', credentials], owner);
    this.env = { COFFER_CONFIG: join(work, 'agent'), COFFER_PASSPHRASE: PASSPHRASE };
    run(
      [process.execPath, COFFER, 'register', '--credentials', credentials, '--name', 'bench'],
      this.env,
    );
  }

  /** Measures an agent command and the vault's CPU while it ran. */
  private async measureWithVault(args: string[]): Promise<Measurement> {
    const pid = this.vault!.pid!;
    await resetPeakRss(pid);
    const before = await processCpuS(pid);
    const m = await measure([process.execPath, COFFER, ...args], { env: this.env });
    return {
      ...m,
      serviceCpuS: (await processCpuS(pid)) - before,
      serviceRssMiB: await peakRssMiB(pid),
    };
  }

  backup(dataset: string): Promise<Measurement> {
    return this.measureWithVault(['backup', dataset, '--json']);
  }

  restore(target: string): Promise<Measurement> {
    return this.measureWithVault(['restore', 'latest', '--target', target, '--json']);
  }

  verify(): Promise<Measurement> {
    return this.measureWithVault(['verify', 'latest', '--read-data', '--json']);
  }

  storedBytes(): number {
    return du(join(this.dataDir, 'blobs')) + this.databaseBytes();
  }

  /** The vault's metadata: its SQLite file and write-ahead log. */
  databaseBytes(): number {
    const file = join(this.dataDir, 'metadata.sqlite');
    return du(file) + (existsSync(`${file}-wal`) ? du(`${file}-wal`) : 0);
  }

  async teardown(): Promise<void> {
    const vault = this.vault;
    if (!vault || vault.exitCode !== null) return;
    await new Promise<void>((r) => {
      vault.once('exit', () => r());
      vault.kill('SIGTERM');
    });
  }
}

/** restic with a local repository (format 2, compression auto), its cache on. */
export class ResticTool implements Tool {
  name = 'restic';
  private repo = '';
  private env: NodeJS.ProcessEnv = {};

  async setup(work: string): Promise<void> {
    this.repo = join(work, 'restic-repo');
    this.env = { RESTIC_PASSWORD: PASSPHRASE, RESTIC_CACHE_DIR: join(work, 'restic-cache') };
    run(['restic', '-r', this.repo, 'init', '--repository-version', '2'], this.env);
  }
  backup(dataset: string): Promise<Measurement> {
    return measure(['restic', '-r', this.repo, 'backup', '--quiet', dataset], {
      env: this.env,
      allowExit: [3],
    });
  }
  restore(target: string): Promise<Measurement> {
    return measure(['restic', '-r', this.repo, 'restore', 'latest', '--target', target], {
      env: this.env,
    });
  }
  verify(): Promise<Measurement> {
    return measure(['restic', '-r', this.repo, 'check', '--read-data'], { env: this.env });
  }
  storedBytes(): number {
    return du(this.repo);
  }
  async teardown(): Promise<void> {}
}

/** borg with repokey encryption and the given compression. */
export class BorgTool implements Tool {
  readonly name: string;
  private repo = '';
  private env: NodeJS.ProcessEnv = {};

  constructor(private readonly compression: string) {
    this.name = `borg ${compression}`;
  }

  async setup(work: string): Promise<void> {
    this.repo = join(work, `borg-repo-${this.compression.replace(/\W/g, '')}`);
    this.env = {
      BORG_PASSPHRASE: PASSPHRASE,
      BORG_BASE_DIR: join(work, 'borg-home'),
      BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
      BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes',
    };
    run(['borg', 'init', '--encryption', 'repokey', this.repo], this.env);
  }
  backup(dataset: string, label: string): Promise<Measurement> {
    return measure(
      ['borg', 'create', '--compression', this.compression, `${this.repo}::${label}`, dataset],
      {
        env: this.env,
        allowExit: [1],
      },
    );
  }
  async restore(target: string): Promise<Measurement> {
    const last = run(
      ['borg', 'list', '--last', '1', '--format', '{archive}', this.repo],
      this.env,
    ).trim();
    execFileSync('mkdir', ['-p', target]);
    return measure(['borg', 'extract', `${this.repo}::${last}`], { env: this.env, cwd: target });
  }
  verify(): Promise<Measurement> {
    return measure(['borg', 'check', '--verify-data', this.repo], { env: this.env });
  }
  storedBytes(): number {
    return du(this.repo);
  }
  async teardown(): Promise<void> {}
}
