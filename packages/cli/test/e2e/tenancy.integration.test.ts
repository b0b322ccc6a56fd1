import { ROUTES, route } from '@coffer/api';
import { pinnedDispatcherForTests } from './http.js';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPgDatabase,
  DIALECTS,
  json,
  Machine,
  registerMachine,
  runCoffer,
  setupTenant,
  tempDir,
  VaultProcess,
  type TenantSetup,
  type TestDb,
} from './harness.js';

describe('first start', () => {
  it('creates the data directory, certificate and a 0600 admin token, and prints the next commands', async () => {
    const work = await tempDir('coffer-first-');
    const vault = new VaultProcess(join(work.path, 'data'));
    try {
      await vault.start();
      const st = await stat(join(work.path, 'data', 'admin.token'));
      expect(st.mode & 0o777).toBe(0o600);
      expect(vault.output).toMatch(/coffer tenant create/);
      expect(vault.output).toMatch(/coffer vault credentials/);
      expect(vault.output).toMatch(/coffer register --credentials/);
      const whoami = await runCoffer(['vault', 'list'], vault.env(vault.adminToken));
      expect(whoami.code).toBe(1);
      expect(whoami.stderr).toMatch(/tenant user token/);
    } finally {
      await vault.stop();
      await work.cleanup();
    }
  });
});

describe.each(DIALECTS)('tenants, agents and credentials (%s metadata)', (dialect) => {
  let work: { path: string; cleanup(): Promise<void> };
  let vault: VaultProcess;
  let a: TenantSetup;
  let b: TenantSetup;
  let alpha: Machine;
  let beta: Machine;
  let gamma: Machine;
  let source: string;
  let pointId: string;
  let http: Awaited<ReturnType<typeof pinnedDispatcherForTests>>;
  let db: TestDb | undefined;

  beforeAll(async () => {
    work = await tempDir('coffer-tenancy-');
    db = dialect === 'postgres' ? await createPgDatabase() : undefined;
    vault = new VaultProcess(join(work.path, 'vault'), db?.url);
    await vault.start();
    a = await setupTenant(vault, 'tenant-a');
    b = await setupTenant(vault, 'tenant-b');
    alpha = await registerMachine(vault, a, work.path, 'alpha');
    beta = await registerMachine(vault, a, work.path, 'beta');
    gamma = await registerMachine(vault, b, work.path, 'gamma');
    source = join(work.path, 'src');
    await mkdir(source);
    await writeFile(join(source, 'report.txt'), 'quarterly numbers\n');
    const backup = await alpha.run(['backup', source, '--json']);
    expect(backup.code, backup.stderr).toBe(0);
    pointId = json<{ point: { id: string } }>(backup).point.id;
    http = await pinnedDispatcherForTests(vault);
  });

  afterAll(async () => {
    await http?.close();
    await vault?.stop();
    await db?.drop();
    await work?.cleanup();
  });

  it("gives tenant B's tokens and agents 403/404 on every route of tenant A's vault", async () => {
    const agentToken = async (m: Machine) =>
      (await readFile(join(m.configDir, 'token'), 'utf8')).trim();
    const intruders = [b.ownerToken, await agentToken(gamma)];
    const routes: [string, string, unknown?][] = [
      ['GET', route(ROUTES.vaultAgents, { vault: a.vaultId })],
      ['GET', route(ROUTES.vaultPoints, { vault: a.vaultId })],
      ['POST', route(ROUTES.vaultCredentials, { vault: a.vaultId })],
      [
        'POST',
        route(ROUTES.agentGrants, { vault: a.vaultId, agent: alpha.agentId }),
        { grantee: gamma.agentId },
      ],
      ['GET', route(ROUTES.agentKeyring, { agent: alpha.agentId })],
      ['GET', route(ROUTES.agentPoints, { agent: alpha.agentId })],
      ['GET', route(ROUTES.agentPacks, { agent: alpha.agentId })],
      ['POST', route(ROUTES.agentLocate, { agent: alpha.agentId }), { ids: [pointId] }],
      ['GET', route(ROUTES.agentPack, { agent: alpha.agentId, pack: pointId })],
      ['DELETE', route(ROUTES.agentGrant, { agent: alpha.agentId, grantee: beta.agentId })],
      ['DELETE', route(ROUTES.agent, { agent: alpha.agentId })],
      ['DELETE', route(ROUTES.vault, { vault: a.vaultId })],
    ];
    for (const token of intruders) {
      for (const [method, path, body] of routes) {
        const status = await http.status(method, path, token, body);
        expect([403, 404], `${method} ${path}`).toContain(status);
      }
      const vaults = await http.json('GET', ROUTES.vaults, token);
      expect(JSON.stringify(vaults)).not.toContain(a.vaultId);
    }
    // Tenant B's blob queries see only its own keyring: A's manifest is "missing" to it.
    const exists = await http.json('POST', ROUTES.blobsExist, await agentToken(gamma), {
      ids: [pointId],
    });
    expect(exists).toEqual({ missing: [pointId] });
  });

  it("keeps an agent out of another agent's items until a tenant user grants it", async () => {
    const denied = await beta.run(['points', '--agent', alpha.agentId, '--json']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/may not read/);
    const grant = await runCoffer(
      ['agent', 'grant', alpha.agentId, '--to', beta.agentId, '--vault', a.vaultId],
      vault.env(a.ownerToken),
    );
    expect(grant.code, grant.stderr).toBe(0);
    const listed = json<{ points: { id: string }[] }>(
      await beta.run(['points', '--agent', alpha.agentId, '--json']),
    );
    expect(listed.points.map((p) => p.id)).toEqual([pointId]);
    // Restore to another server: beta restores alpha's point with alpha's passphrase.
    const target = join(work.path, 'on-beta');
    const restored = await beta.run([
      'restore',
      'latest',
      '--agent',
      alpha.agentId,
      '--target',
      target,
    ]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await readFile(join(target, source, 'report.txt'), 'utf8')).toBe('quarterly numbers\n');
    const wrong = await beta.run(
      ['restore', 'latest', '--agent', alpha.agentId, '--target', target],
      {
        COFFER_PASSPHRASE: 'beta has its own passphrase',
      },
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/wrong passphrase/);
  });

  it('refuses reused and expired vault credentials', async () => {
    const file = join(work.path, 'once.credentials');
    expect(
      (await runCoffer(['vault', 'credentials', a.vaultId, '--out', file], vault.env(a.ownerToken)))
        .code,
    ).toBe(0);
    const first = new Machine(join(work.path, 'first-config'));
    expect((await first.run(['register', '--credentials', file])).code).toBe(0);
    const second = new Machine(join(work.path, 'second-config'));
    const reused = await second.run(['register', '--credentials', file]);
    expect(reused.code).toBe(1);
    expect(reused.stderr).toMatch(/used already/);
    expect(await readdir(work.path)).not.toContain('second-config-agent.json');

    const credentials = JSON.parse(await readFile(file, 'utf8')) as { expiresAt: string };
    credentials.expiresAt = new Date(Date.now() - 1000).toISOString();
    const expiredFile = join(work.path, 'expired.credentials');
    await writeFile(expiredFile, JSON.stringify(credentials));
    const expired = await new Machine(join(work.path, 'third-config')).run([
      'register',
      '--credentials',
      expiredFile,
    ]);
    expect(expired.code).toBe(1);
    expect(expired.stderr).toMatch(/expired/);
  });

  it('refuses a passphrase shorter than 16 characters at registration', async () => {
    const file = join(work.path, 'short.credentials');
    await runCoffer(['vault', 'credentials', a.vaultId, '--out', file], vault.env(a.ownerToken));
    const result = await new Machine(join(work.path, 'short-config'), 'too short').run([
      'register',
      '--credentials',
      file,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/16 characters/);
  });

  it.runIf(dialect === 'sqlite')(
    'stretches a new keyring at the full scrypt cost unless a test weakens it',
    async () => {
      const file = join(work.path, 'kdf.credentials');
      await runCoffer(['vault', 'credentials', a.vaultId, '--out', file], vault.env(a.ownerToken));
      const full = new Machine(join(work.path, 'kdf-config'));
      const made = await full.run(['register', '--credentials', file], {
        COFFER_TESTONLY_WEAKEN_KDF: undefined,
      });
      expect(made.code, made.stderr).toBe(0);
      const kdfOf = async (m: Machine) =>
        (
          JSON.parse(await readFile(join(m.configDir, 'keyring.json'), 'utf8')) as {
            kdf: { N: number };
          }
        ).kdf.N;
      expect(await kdfOf(full)).toBe(2 ** 15);
      expect(await kdfOf(alpha)).toBe(2 ** 10);
    },
  );
});
