import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VAULT_ONLY } from '../../../../scripts/dist-agent.js';
import {
  json,
  PASSPHRASE,
  runCoffer,
  runProgram,
  setupTenant,
  tempDir,
  VaultProcess,
  type RunResult,
} from './harness.js';

const ROOT = resolve(import.meta.dirname, '../../../..');
const run = promisify(execFile);

/** Every package name installed under `modules`, nested ones included. */
async function packageNames(modules: string): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await readdir(modules).catch(() => [])) {
    if (entry.startsWith('.')) continue;
    const scoped = entry.startsWith('@') ? await readdir(join(modules, entry)) : [''];
    for (const name of scoped) {
      const full = name ? `${entry}/${name}` : entry;
      names.push(full, ...(await packageNames(join(modules, full, 'node_modules'))));
    }
  }
  return names;
}

describe('the agent package, installed on a machine without the checkout', () => {
  let work: { path: string; cleanup(): Promise<void> };
  let vault: VaultProcess;
  let prefix: string;
  let home: string;
  let elsewhere: string;

  /** The installed `coffer`, run from a directory outside the checkout with its own HOME. */
  const agent = (args: string[]): Promise<RunResult> =>
    runProgram(
      [join(prefix, 'bin', 'coffer')],
      args,
      {
        HOME: home,
        XDG_CONFIG_HOME: undefined,
        COFFER_CONFIG: undefined,
        COFFER_DATA: undefined,
        COFFER_PASSPHRASE: PASSPHRASE,
      },
      { cwd: elsewhere },
    );

  beforeAll(async () => {
    work = await tempDir('coffer-agent-package-');
    prefix = join(work.path, 'prefix');
    home = join(work.path, 'home');
    elsewhere = join(work.path, 'elsewhere');
    await mkdir(home);
    await mkdir(elsewhere);
    const out = join(work.path, 'dist');
    await run(process.execPath, ['--import', 'tsx', 'scripts/dist-agent.ts', '--out', out], {
      cwd: ROOT,
    });
    const [tarball] = await readdir(out);
    expect(tarball).toMatch(/^coffer-agent-\d+\.\d+\.\d+\.tgz$/);
    // As the README says, into an empty prefix; npm's cache (from npm ci) may serve the build
    // tools, and the registry is never needed for the package's own dependencies.
    await run(
      'npm',
      ['install', '-g', '--prefix', prefix, '--prefer-offline', join(out, tarball!)],
      {
        cwd: elsewhere,
        env: { ...process.env, JOBS: '2' },
      },
    );
    vault = new VaultProcess(join(work.path, 'vault'));
    await vault.start();
    // Building zstd and fs-times from source is most of it: about 30 s of one core.
  }, 600_000);

  afterAll(async () => {
    await vault?.stop();
    await work?.cleanup();
  });

  it('holds nothing of the vault', async () => {
    const installed = join(prefix, 'lib', 'node_modules');
    const names = await packageNames(installed);
    expect(names).toContain('coffer-agent');
    expect(names).toContain('@coffer/agent');
    expect(names.filter((n) => VAULT_ONLY.includes(n))).toEqual([]);
    const served = await agent(['vault', 'serve', '--data', join(work.path, 'nope')]);
    expect(served.code).toBe(1);
    expect(served.stderr).toMatch(/the vault is not installed here/);
  });

  it('registers, backs up and restores against a vault started from the checkout', async () => {
    const tenant = await setupTenant(vault, 'acme');
    const credentials = join(work.path, 'machine.credentials');
    const made = await runCoffer(
      ['vault', 'credentials', tenant.vaultName, '--out', credentials],
      vault.env(tenant.ownerToken),
    );
    expect(made.code, made.stderr).toBe(0);
    expect((await stat(credentials)).mode & 0o777).toBe(0o600);

    const registered = await agent(['register', '--credentials', credentials, '--name', 'far']);
    expect(registered.code, registered.stderr).toBe(0);
    expect((await stat(join(home, '.config', 'coffer', 'agent.json'))).isFile()).toBe(true);

    const source = join(work.path, 'documents');
    await mkdir(join(source, 'letters'), { recursive: true });
    await writeFile(join(source, 'letters', 'hello.txt'), 'hello from far away\n');
    const backup = await agent(['backup', source, '--json']);
    expect(backup.code, backup.stderr).toBe(0);
    const { point } = json<{ point: { id: string } }>(backup);

    const target = join(work.path, 'restored');
    const restored = await agent(['restore', point.id.slice(0, 12), '--target', target]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await readFile(join(target, source, 'letters', 'hello.txt'), 'utf8')).toBe(
      'hello from far away\n',
    );
  });
});
