import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  json,
  registerMachine,
  runCoffer,
  setupTenant,
  tempDir,
  VaultProcess,
  type Machine,
  type TenantSetup,
} from './harness.js';

// The routes run against both databases in process (packages/vault/test/access-lifecycle.test.ts,
// admin-token.test.ts); here the command line, once.
describe('ending access from the command line', () => {
  let work: { path: string; cleanup(): Promise<void> };
  let vault: VaultProcess;
  let tenant: TenantSetup;
  let alpha: Machine;
  let beta: Machine;
  let pointId: string;

  const owner = (args: string[], token = tenant.ownerToken) => runCoffer(args, vault.env(token));

  beforeAll(async () => {
    work = await tempDir('coffer-access-');
    vault = new VaultProcess(join(work.path, 'vault'));
    await vault.start();
    tenant = await setupTenant(vault, 'acme');
    alpha = await registerMachine(vault, tenant, work.path, 'alpha');
    beta = await registerMachine(vault, tenant, work.path, 'beta');
    const source = join(work.path, 'src');
    await mkdir(source);
    await writeFile(join(source, 'a.txt'), 'a\n');
    const backup = await alpha.run(['backup', source, '--json']);
    expect(backup.code, backup.stderr).toBe(0);
    pointId = json<{ point: { id: string } }>(backup).point.id;
  });

  afterAll(async () => {
    await vault?.stop();
    await work?.cleanup();
  });

  it('prints one JSON object of documented keys per command (docs/cli.md)', async () => {
    const keys = new Set([
      'tenants',
      'tokens',
      'vaults',
      'agents',
      'points',
      'point',
      'path',
      'entries',
      'pattern',
      'matches',
      'stats',
      'damage',
      'packs',
    ]);
    const admin = vault.env(vault.adminToken);
    const runs = [
      runCoffer(['tenant', 'list', '--json'], admin),
      owner(['token', 'list', '--json']),
      owner(['vault', 'list', '--json']),
      owner(['vault', 'agents', tenant.vaultName, '--json']),
      owner(['vault', 'points', tenant.vaultName, '--json']),
      alpha.run(['points', '--json']),
      alpha.run(['ls', 'latest', '--json']),
      alpha.run(['find', '*.txt', '--json']),
      alpha.run(['verify', '--json']),
    ];
    for (const result of await Promise.all(runs)) {
      expect(result.code, result.stderr).toBe(0);
      const document: unknown = JSON.parse(result.stdout);
      expect(typeof document === 'object' && document !== null && !Array.isArray(document)).toBe(
        true,
      );
      for (const key of Object.keys(document as object)) expect(keys, result.stdout).toContain(key);
    }
  });

  it('creates a token with an expiry, lists it without its secret, and revokes it by name', async () => {
    const created = await owner([
      'token',
      'create',
      'ci',
      '--role',
      'operator',
      '--expires',
      '30d',
      '--json',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const { token, secret } = json<{ token: { id: string; expiresAt: string }; secret: string }>(
      created,
    );
    const days = (Date.parse(token.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThan(30.1);
    const again = await owner(['token', 'create', 'ci', '--role', 'reader']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/a token named ci already/);
    const badExpiry = await owner([
      'token',
      'create',
      'other',
      '--role',
      'reader',
      '--expires',
      '30 days',
    ]);
    expect(badExpiry.code).toBe(2);

    const listed = await owner(['token', 'list', '--json']);
    expect(json<{ tokens: { name: string }[] }>(listed).tokens.map((t) => t.name)).toContain('ci');
    expect(listed.stdout).not.toContain(secret);
    expect((await owner(['vault', 'list'], secret)).code).toBe(0);

    const revoked = await owner(['token', 'revoke', 'ci']);
    expect(revoked.code, revoked.stderr).toBe(0);
    const refused = await owner(['vault', 'list'], secret);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/revoked/);
    const text = await owner(['token', 'list']);
    expect(text.stdout).toMatch(/ci {2}operator {2}created \S+ {2}revoked /);
  });

  it('revokes a grant: the other machine can no longer read', async () => {
    expect(
      (
        await owner([
          'agent',
          'grant',
          alpha.agentId,
          '--to',
          beta.agentId,
          '--vault',
          tenant.vaultName,
        ])
      ).code,
    ).toBe(0);
    expect((await beta.run(['points', '--agent', alpha.agentId])).code).toBe(0);
    const revoke = await owner(['agent', 'revoke-grant', alpha.agentId, '--from', beta.agentId]);
    expect(revoke.code, revoke.stderr).toBe(0);
    const denied = await beta.run(['points', '--agent', alpha.agentId]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/may not read/);
    const twice = await owner(['agent', 'revoke-grant', alpha.agentId, '--from', beta.agentId]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/has no grant/);
  });

  it('removes a machine: its token stops at once, its points stay', async () => {
    const removed = await owner(['agent', 'remove', alpha.agentId]);
    expect(removed.code, removed.stderr).toBe(0);
    const backup = await alpha.run(['points']);
    expect(backup.code).toBe(1);
    expect(backup.stderr).toMatch(/removed from its vault/);
    const points = json<{ points: { id: string }[] }>(
      await owner(['vault', 'points', tenant.vaultName, '--json']),
    );
    expect(points.points.map((p) => p.id)).toEqual([pointId]);
    const agents = await owner(['vault', 'agents', tenant.vaultName]);
    expect(agents.stdout).toMatch(new RegExp(`${alpha.agentId} .*removed `));
  });

  it('deletes a vault only when it holds no points and no registered machine', async () => {
    const full = await owner(['vault', 'delete', tenant.vaultName]);
    expect(full.code).toBe(1);
    expect(full.stderr).toMatch(/holds 1 recovery point/);

    const spare = await owner(['vault', 'create', 'spare', '--json']);
    expect(spare.code, spare.stderr).toBe(0);
    const spareTenant = { ...tenant, vaultId: json<{ vault: { id: string } }>(spare).vault.id };
    const gamma = await registerMachine(vault, spareTenant, work.path, 'gamma');
    const busy = await owner(['vault', 'delete', 'spare']);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/1 machine\(s\) are registered.*coffer agent remove/);
    expect((await owner(['agent', 'remove', gamma.agentId])).code).toBe(0);
    const deleted = await owner(['vault', 'delete', 'spare', '--json']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(json<{ vault: { name: string } }>(deleted).vault.name).toBe('spare');
    expect((await owner(['vault', 'list'])).stdout).not.toMatch(/spare/);
  });

  it('lists tenants for the service admin, and mints a new admin token on the vault host', async () => {
    const tenants = await runCoffer(['tenant', 'list', '--json'], vault.env(vault.adminToken));
    expect(json<{ tenants: { name: string }[] }>(tenants).tenants.map((t) => t.name)).toEqual([
      'acme',
    ]);
    expect((await owner(['tenant', 'list'])).stderr).toMatch(/only the service admin/);

    const reset = await runCoffer(['admin', 'reset-token', '--data', vault.dataDir]);
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toMatch(/Revoked 1 service-admin token/);
    const file = join(vault.dataDir, 'admin.token');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const fresh = (await readFile(file, 'utf8')).trim();
    expect(fresh).not.toBe(vault.adminToken);
    const old = await runCoffer(['tenant', 'list'], vault.env(vault.adminToken));
    expect(old.code).toBe(1);
    expect(old.stderr).toMatch(/revoked/);
    expect((await runCoffer(['tenant', 'list'], vault.env(fresh))).code).toBe(0);
    vault.adminToken = fresh;
  });
});
