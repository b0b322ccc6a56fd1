// `npm run dist`: packs the agent for machines that have only Node and npm, as one file,
// dist/coffer-agent-VERSION.tgz, installed with `npm install -g ./coffer-agent-VERSION.tgz`.
//
// The tarball carries the `coffer` command and every package it runs on (bundled, so the install
// needs no registry and never looks a @coffer name up in one), but not the vault: no web
// framework, database driver or certificate maker. Native code (zstd, @coffer/fs-times) is
// built from source by the install, as in a checkout.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
/** The workspace packages the agent runs on, in dependency order. */
const PACKAGES = ['fs-times', 'core', 'api', 'agent', 'cli'];
/** What the agent package must never contain (the vault and what only the vault needs). */
export const VAULT_ONLY = [
  '@coffer/vault',
  '@coffer/storage',
  'fastify',
  'kysely',
  'better-sqlite3',
  'pg',
  'selfsigned',
];

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', [...args, '--loglevel=warn'], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** Every package name under `dir`/node_modules, nested ones included. */
/**
 * Makes bundled native packages build from source at install instead of first trying to
 * download a prebuilt binary (prebuild-install), which the agent package must never do.
 */
async function buildFromSourceOnly(modules: string): Promise<void> {
  for (const name of await readdir(modules)) {
    const file = join(modules, name, 'package.json');
    let manifest: { scripts?: Record<string, string> };
    try {
      manifest = JSON.parse(await readFile(file, 'utf8')) as typeof manifest;
    } catch {
      continue;
    }
    const install = manifest.scripts?.install;
    if (!install?.includes('prebuild-install')) continue;
    manifest.scripts!.install = install.replace(/^.*\|\|\s*/, '');
    await writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
  }
}

async function installedNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  const walk = async (modules: string): Promise<void> => {
    const entries = await readdir(modules, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      if (entry.name.startsWith('@')) {
        for (const scoped of await readdir(join(modules, entry.name))) {
          names.push(`${entry.name}/${scoped}`);
          await walk(join(modules, entry.name, scoped, 'node_modules'));
        }
      } else {
        names.push(entry.name);
        await walk(join(modules, entry.name, 'node_modules'));
      }
    }
  };
  await walk(join(dir, 'node_modules'));
  return names;
}

async function main(): Promise<void> {
  const outIndex = process.argv.indexOf('--out');
  const out = resolve(outIndex > 0 ? process.argv[outIndex + 1]! : join(ROOT, 'dist'));
  const root = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
    engines: Record<string, string>;
  };
  const stage = await mkdtemp(join(tmpdir(), 'coffer-dist-'));
  try {
    const packs = join(stage, 'packs');
    await mkdir(packs);
    const dependencies: Record<string, string> = {};
    for (const name of PACKAGES) {
      const file = npm(['pack', '--pack-destination', packs, '-w', `packages/${name}`], ROOT)
        .trim()
        .split('\n')
        .at(-1)!;
      dependencies[`@coffer/${name}`] = `file:${join(packs, file)}`;
    }
    const pkg = join(stage, 'coffer-agent');
    await mkdir(join(pkg, 'bin'), { recursive: true });
    const manifest = {
      name: 'coffer-agent',
      version: root.version,
      description: 'The Coffer agent: the coffer command for machines that back up into a vault',
      license: 'Apache-2.0',
      type: 'module',
      engines: root.engines,
      bin: { coffer: 'bin/coffer.js' },
      dependencies,
      bundleDependencies: true,
    };
    await writeFile(join(pkg, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await writeFile(
      join(pkg, 'bin', 'coffer.js'),
      "#!/usr/bin/env node\n// The coffer command of the agent package (no vault).\nimport '@coffer/cli/bin';\n",
      { mode: 0o755 },
    );
    // Scripts wait for the machine that installs: native code is built there, for its Node.
    npm(
      ['install', '--ignore-scripts', '--no-package-lock', '--omit=dev', '--prefer-offline'],
      pkg,
    );
    await buildFromSourceOnly(join(pkg, 'node_modules'));
    const forbidden = (await installedNames(pkg)).filter((n) => VAULT_ONLY.includes(n));
    if (forbidden.length > 0) {
      throw new Error(`the agent package would contain ${forbidden.join(', ')}`);
    }
    // Bundled: the tarball's own copies satisfy these, nothing is looked up by name.
    for (const name of Object.keys(dependencies)) dependencies[name] = root.version;
    await writeFile(join(pkg, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await mkdir(out, { recursive: true });
    const file = npm(['pack', '--pack-destination', out], pkg).trim().split('\n').at(-1)!;
    process.stdout.write(
      `${join(out, file)}\nInstall it on a machine with Node ${root.engines.node} and npm: npm install -g ./${file}\n`,
    );
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

if (process.argv[1] === import.meta.filename) await main();
