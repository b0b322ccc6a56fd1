import { ROUTES, route } from '@coffer/api';
import { createKeyring } from '@coffer/core';
import { MemoryBlobStore } from '@coffer/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, makeVault, type InProcessVault } from './in-process-vault.js';

const METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;

/** A syntactically valid value for each path parameter, so that only authentication decides. */
function sampleParams(path: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [, name] of path.matchAll(/:([a-z]+)/g)) {
    params[name!] = name === 'pack' ? 'ab'.repeat(32) : 'xx_0123456789abcdef';
  }
  return params;
}

describe.each(['sqlite', 'postgres'] as const)('access lifecycle (%s metadata)', (dialect) => {
  let v: InProcessVault;
  const store = new MemoryBlobStore();
  let owner: string;
  let vaultId: string;
  let otherOwner: string;
  let keyringText: string;

  async function call(method: string, url: string, token?: string, payload?: unknown) {
    return v.app.inject({
      method: method as 'GET',
      url,
      ...(token ? { headers: auth(token) } : {}),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  }

  async function createTenant(name: string): Promise<string> {
    const r = await call('POST', ROUTES.tenants, v.admin, { name });
    expect(r.statusCode, r.body).toBe(201);
    return r.json<{ token: string }>().token;
  }

  async function createVault(token: string, name: string): Promise<string> {
    const r = await call('POST', ROUTES.vaults, token, { name });
    expect(r.statusCode, r.body).toBe(201);
    return r.json<{ id: string }>().id;
  }

  async function createToken(name: string, role: string, expiresInSeconds?: number) {
    const r = await call('POST', ROUTES.tokens, owner, { name, role, expiresInSeconds });
    expect(r.statusCode, r.body).toBe(201);
    return r.json<{ id: string; token: string; expiresAt?: string }>();
  }

  async function register(vault: string): Promise<{ token: string; agentId: string }> {
    const c = await call('POST', route(ROUTES.vaultCredentials, { vault }), owner);
    const { secret } = c.json<{ secret: string }>();
    const kr = await createKeyring('a long enough passphrase', { kdf: { N: 1024, r: 8, p: 1 } });
    keyringText = JSON.stringify(kr.json);
    const r = await call('POST', ROUTES.register, undefined, {
      secret,
      name: 'm',
      hostname: 'h',
      keyring: keyringText,
    });
    expect(r.statusCode, r.body).toBe(201);
    const body = r.json<{ token: string; agent: { id: string } }>();
    return { token: body.token, agentId: body.agent.id };
  }

  beforeAll(async () => {
    v = await makeVault({ dialect, store });
    owner = await createTenant('acme');
    otherOwner = await createTenant('globex');
    vaultId = await createVault(owner, 'main');
  });

  afterAll(async () => {
    await v?.close();
  });

  it('answers 401 to a revoked, an expired and a removed agent’s token on every route', async () => {
    const revoked = await createToken('to-revoke', 'reader');
    expect(
      (await call('DELETE', route(ROUTES.token, { token: revoked.id }), owner)).statusCode,
    ).toBe(204);
    const expiring = await createToken('short-lived', 'owner', 60);
    expect((await call('GET', ROUTES.vaults, expiring.token)).statusCode).toBe(200);
    const agent = await register(vaultId);
    expect((await call('GET', ROUTES.whoami, agent.token)).statusCode).toBe(200);
    expect(
      (await call('DELETE', route(ROUTES.agent, { agent: agent.agentId }), owner)).statusCode,
    ).toBe(204);
    v.clock.now += 61_000;

    const ended = { revoked: revoked.token, expired: expiring.token, removed: agent.token };
    let covered = 0;
    for (const path of Object.values(ROUTES)) {
      const url = route(path, sampleParams(path));
      for (const method of METHODS) {
        if (!v.app.hasRoute({ method, url: path })) continue;
        covered++;
        for (const [kind, token] of Object.entries(ended)) {
          const r = await v.app.inject({
            method,
            url,
            headers: {
              ...auth(token),
              ...(method === 'PUT' ? { 'content-type': 'application/octet-stream' } : {}),
            },
            ...(method === 'POST' || method === 'PUT'
              ? { payload: method === 'PUT' ? 'x' : {} }
              : {}),
          });
          expect(r.statusCode, `${kind} token, ${method} ${path}: ${r.body}`).toBe(401);
        }
      }
    }
    expect(covered).toBeGreaterThanOrEqual(Object.keys(ROUTES).length);
    const why = await call('GET', ROUTES.vaults, expiring.token);
    expect(why.json<{ error: { message: string } }>().error.message).toMatch(/expired at/);
    const removed = await call('GET', ROUTES.whoami, agent.token);
    expect(removed.json<{ error: { message: string } }>().error.message).toMatch(/removed/);
  });

  it('lets each role end only what it may, and another tenant nothing', async () => {
    const agent = await register(vaultId);
    const other = await register(vaultId);
    const roles = {
      reader: (await createToken('r', 'reader')).token,
      operator: (await createToken('o', 'operator')).token,
      contributor: (await createToken('c', 'contributor')).token,
    };
    const spare = await createToken('spare', 'reader');
    const cases: [string, string, (keyof typeof roles)[]][] = [
      ['GET', ROUTES.tokens, []],
      ['DELETE', route(ROUTES.token, { token: spare.id }), []],
      ['DELETE', route(ROUTES.vault, { vault: vaultId }), []],
      [
        'DELETE',
        route(ROUTES.agentGrant, { agent: agent.agentId, grantee: other.agentId }),
        ['contributor'],
      ],
      ['DELETE', route(ROUTES.agent, { agent: agent.agentId }), ['contributor']],
    ];
    for (const [method, url, allowed] of cases) {
      for (const [role, token] of Object.entries(roles)) {
        const r = await call(method, url, token);
        if (allowed.includes(role as keyof typeof roles))
          expect(r.statusCode, `${role} ${method} ${url}`).not.toBe(403);
        else expect(r.statusCode, `${role} ${method} ${url}`).toBe(403);
      }
      // Another tenant's token, agent, grant or vault answers as an unknown one.
      if (method === 'DELETE') expect((await call(method, url, otherOwner)).statusCode).toBe(404);
    }
    const foreign = await call('GET', ROUTES.tokens, otherOwner);
    expect(foreign.body).not.toContain(spare.id);
    // The contributor removed the agent; nothing else changed.
    expect((await call('GET', ROUTES.whoami, other.token)).statusCode).toBe(200);
    expect((await call('GET', ROUTES.vaults, spare.token)).statusCode).toBe(200);
  });

  it('lists tokens without secrets, keeps names unique, and frees a name on revocation', async () => {
    const first = await createToken('ci', 'contributor');
    const duplicate = await call('POST', ROUTES.tokens, owner, { name: 'ci', role: 'reader' });
    expect(duplicate.statusCode).toBe(409);
    const listed = await call('GET', ROUTES.tokens, owner);
    expect(listed.statusCode).toBe(200);
    const tokens = listed.json<{ tokens: { id: string; name: string; revokedAt?: string }[] }>()
      .tokens;
    expect(tokens.map((t) => t.name)).toContain('ci');
    expect(listed.body).not.toContain(first.token);
    await call('DELETE', route(ROUTES.token, { token: first.id }), owner);
    expect((await call('GET', ROUTES.vaults, first.token)).statusCode).toBe(401);
    const again = await call('POST', ROUTES.tokens, owner, { name: 'ci', role: 'reader' });
    expect(again.statusCode, again.body).toBe(201);
  });

  it("refuses to revoke a tenant's last owner token, and lets only owners manage tokens", async () => {
    const list = await call('GET', ROUTES.tokens, otherOwner);
    const [only] = list.json<{ tokens: { id: string }[] }>().tokens;
    const last = await call('DELETE', route(ROUTES.token, { token: only!.id }), otherOwner);
    expect(last.statusCode).toBe(409);
    expect(last.json<{ error: { code: string } }>().error.code).toBe('LAST_OWNER_TOKEN');
    expect((await call('GET', ROUTES.vaults, otherOwner)).statusCode).toBe(200);

    const reader = await createToken('auditor', 'reader');
    expect((await call('GET', ROUTES.tokens, reader.token)).statusCode).toBe(403);
    const mine = await call('GET', ROUTES.tokens, owner);
    const someId = mine.json<{ tokens: { id: string }[] }>().tokens[0]!.id;
    expect(
      (await call('DELETE', route(ROUTES.token, { token: someId }), reader.token)).statusCode,
    ).toBe(403);
    // Another tenant's token answers as an unknown one.
    expect(
      (await call('DELETE', route(ROUTES.token, { token: someId }), otherOwner)).statusCode,
    ).toBe(404);
  });

  it('injects requests with cookies (light-my-request on the cookie version pinned for Node 20)', async () => {
    const r = await v.app.inject({ method: 'GET', url: ROUTES.whoami, cookies: { a: 'b c' } });
    expect(r.statusCode).toBe(401);
  });

  it('lists tenants for the service admin only', async () => {
    const r = await call('GET', ROUTES.tenants, v.admin);
    expect(r.json<{ tenants: { name: string }[] }>().tenants.map((t) => t.name)).toEqual([
      'acme',
      'globex',
    ]);
    expect((await call('GET', ROUTES.tenants, owner)).statusCode).toBe(403);
  });

  it('revokes a grant, and answers 404 for one that does not exist', async () => {
    const a = await register(vaultId);
    const b = await register(vaultId);
    const grant = await call(
      'POST',
      route(ROUTES.agentGrants, { vault: vaultId, agent: a.agentId }),
      owner,
      { grantee: b.agentId },
    );
    expect(grant.statusCode).toBe(204);
    const points = route(ROUTES.agentPoints, { agent: a.agentId });
    expect((await call('GET', points, b.token)).statusCode).toBe(200);
    const revoke = route(ROUTES.agentGrant, { agent: a.agentId, grantee: b.agentId });
    expect((await call('DELETE', revoke, otherOwner)).statusCode).toBe(404);
    expect((await call('DELETE', revoke, owner)).statusCode).toBe(204);
    expect((await call('GET', points, b.token)).statusCode).toBe(403);
    expect((await call('DELETE', revoke, owner)).statusCode).toBe(404);
  });

  it('deletes a vault only once no machine is registered in it, with its stored packs, policies and notifications', async () => {
    const id = await createVault(owner, 'to-delete');
    const agent = await register(id);
    const policy = await call('POST', route(ROUTES.vaultPolicies, { vault: id }), owner, {
      name: 'nightly',
      spec: {
        schedule: { times: ['02:00'], days: [], timeZone: 'UTC' },
        retention: { daily: { days: 7 } },
      },
    });
    expect(policy.statusCode, policy.body).toBe(201);
    const notify = await call('PUT', route(ROUTES.vaultNotify, { vault: id }), owner, {
      emails: ['ops@example.com'],
    });
    expect(notify.statusCode, notify.body).toBe(200);
    await store.put(`packs/${JSON.parse(keyringText).id}/ab/${'ab'.repeat(32)}`, Buffer.from('x'));
    const url = route(ROUTES.vault, { vault: id });
    expect((await call('DELETE', url, otherOwner)).statusCode).toBe(404);
    const busy = await call('DELETE', url, owner);
    expect(busy.statusCode).toBe(409);
    expect(busy.json<{ error: { code: string } }>().error.code).toBe('VAULT_NOT_EMPTY');
    await call('DELETE', route(ROUTES.agent, { agent: agent.agentId }), owner);
    const listed = await call('GET', route(ROUTES.vaultAgents, { vault: id }), owner);
    expect(listed.json<{ agents: { removedAt?: string }[] }>().agents[0]!.removedAt).toBeDefined();
    expect((await call('DELETE', url, owner)).statusCode).toBe(204);
    const vaults = await call('GET', ROUTES.vaults, owner);
    expect(vaults.body).not.toContain(id);
    const left = [];
    for await (const object of store.list('packs/')) left.push(object.key);
    expect(left.filter((key) => key.includes(JSON.parse(keyringText).id))).toEqual([]);
    expect((await call('DELETE', url, owner)).statusCode).toBe(404);
    for (const table of ['policies', 'items', 'jobs', 'alerts', 'notify_targets'] as const) {
      const rows = await v.meta.db
        .selectFrom(table)
        .select('vault_id')
        .where('vault_id', '=', id)
        .execute();
      expect(rows, table).toEqual([]);
    }
  });
});
