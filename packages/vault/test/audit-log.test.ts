import { ROUTES, route, type AuditList, type AuditVerifyResponse } from '@coffer/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDatabase, type TestDb } from '../../cli/test/e2e/harness.js';
import { entryHash } from '../src/audit/chain.js';
import type { AuditLogTable } from '../src/db/schema.js';
import { auth, makeVault, type InProcessVault } from './in-process-vault.js';

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`audit log (${dialect})`, () => {
    let testDb: TestDb | undefined;
    let v: InProcessVault;
    let ownerA: string;
    let tenantA: string;
    let ownerB: string;
    let vaultA: string;

    async function call(
      method: 'GET' | 'POST' | 'PUT' | 'DELETE',
      url: string,
      token?: string,
      payload?: object,
    ) {
      return v.app.inject({
        method,
        url,
        ...(token ? { headers: auth(token) } : {}),
        ...(payload ? { payload } : {}),
      });
    }

    async function createTenant(name: string): Promise<{ token: string; id: string }> {
      const r = await call('POST', ROUTES.tenants, v.admin, { name });
      expect(r.statusCode).toBe(201);
      const body = r.json<{ token: string; tenant: { id: string } }>();
      return { token: body.token, id: body.tenant.id };
    }

    async function verify(token: string): Promise<AuditVerifyResponse> {
      const r = await call('GET', ROUTES.auditVerify, token);
      expect(r.statusCode).toBe(200);
      return r.json();
    }

    const rows = (chain: string) =>
      v.meta.db
        .selectFrom('audit_log')
        .selectAll()
        .where('chain', '=', chain)
        .orderBy('seq')
        .execute();

    beforeAll(async () => {
      testDb = dialect === 'postgres' ? await createPgDatabase() : undefined;
      v = await makeVault({ dbUrl: testDb?.url });
      const a = await createTenant('tenant-a');
      ownerA = a.token;
      tenantA = a.id;
      ownerB = (await createTenant('tenant-b')).token;
      const vault = await call('POST', ROUTES.vaults, ownerA, { name: 'vault-a' });
      vaultA = vault.json<{ id: string }>().id;
    });

    afterAll(async () => {
      await v?.close();
      await testDb?.drop();
    });

    it('records every state-changing call with who, what, where and outcome, refusals included, and never a token or body', async () => {
      const created = await call('POST', ROUTES.tokens, ownerA, { name: 'ci', role: 'reader' });
      expect(created.statusCode).toBe(201);
      const reader = created.json<{ token: string; id: string }>();
      expect(
        (await call('POST', ROUTES.vaults, reader.token, { name: 'secret-vault-name' })).statusCode,
      ).toBe(403);
      const foreign = route(ROUTES.vaultCredentials, { vault: vaultA });
      expect((await call('POST', foreign, ownerB)).statusCode).toBe(404);
      expect((await call('POST', ROUTES.vaults, undefined, { name: 'x' })).statusCode).toBe(401);
      expect(
        (await call('POST', ROUTES.vaults, 'cft_user_unknownunknownunknown', { name: 'x' }))
          .statusCode,
      ).toBe(401);
      expect((await call('DELETE', '/v1/no-such-route?token=abc', ownerA)).statusCode).toBe(404);
      expect((await call('GET', ROUTES.vaults, ownerA)).statusCode).toBe(200);

      const mine = (await call('GET', ROUTES.audit, ownerA)).json<AuditList>();
      expect(mine.chain).toBe(tenantA);
      const summary = mine.entries.map((e) => [
        e.action,
        e.status,
        e.error ?? null,
        e.actor.kind,
        e.actor.name,
      ]);
      expect(summary).toEqual([
        ['vault.create', 201, null, 'user', 'tenant-a owner'],
        ['token.create', 201, null, 'user', 'tenant-a owner'],
        ['vault.create', 403, 'FORBIDDEN', 'user', 'ci'],
        ['unknown-route', 404, 'NOT_FOUND', 'user', 'tenant-a owner'],
      ]);
      expect(mine.entries[2]!.actor.tokenId).toBe(reader.id);
      expect(mine.entries[3]!.route).toBe('/v1/no-such-route');
      expect(mine.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);

      // Tenant B's probe of A's vault is in B's chain, naming the vault it tried.
      const theirs = (await call('GET', ROUTES.audit, ownerB)).json<AuditList>();
      expect(theirs.entries).toHaveLength(1);
      expect(theirs.entries[0]).toMatchObject({
        action: 'credentials.create',
        route: ROUTES.vaultCredentials,
        resource: { vault: vaultA },
        vaultId: vaultA,
        status: 404,
        error: 'NOT_FOUND',
        address: '127.0.0.1',
      });

      const service = (await call('GET', ROUTES.audit, v.admin)).json<AuditList>();
      expect(service.entries.map((e) => [e.action, e.status, e.actor.kind])).toEqual([
        ['tenant.create', 201, 'admin'],
        ['tenant.create', 201, 'admin'],
        ['vault.create', 401, 'anonymous'],
        ['vault.create', 401, 'anonymous'],
      ]);

      const everything = JSON.stringify(
        await v.meta.db.selectFrom('audit_log').selectAll().execute(),
      );
      for (const secret of [
        ownerA,
        ownerB,
        reader.token,
        v.admin,
        'secret-vault-name',
        'token=abc',
      ]) {
        expect(everything).not.toContain(secret);
      }
    });

    it('pages with --since and after, and lets only owners and the service admin read', async () => {
      const all = (await call('GET', ROUTES.audit, ownerA)).json<AuditList>();
      const page = (await call('GET', `${ROUTES.audit}?limit=2`, ownerA)).json<AuditList>();
      expect(page.entries.map((e) => e.seq)).toEqual([1, 2]);
      expect(page.next).toBe(2);
      const rest = (await call('GET', `${ROUTES.audit}?after=2`, ownerA)).json<AuditList>();
      expect(rest.entries[0]!.seq).toBe(3);
      v.clock.now += 60_000;
      const since = new Date(v.clock.now).toISOString();
      await call('POST', ROUTES.vaults, ownerA, { name: 'later' });
      const recent = (
        await call('GET', `${ROUTES.audit}?since=${since}`, ownerA)
      ).json<AuditList>();
      expect(recent.entries.map((e) => e.seq)).toEqual([all.entries.length + 1]);

      const reader = (
        await call('POST', ROUTES.tokens, ownerA, { name: 'r2', role: 'reader' })
      ).json<{ token: string }>();
      expect((await call('GET', ROUTES.audit, reader.token)).statusCode).toBe(403);
      expect((await call('GET', ROUTES.auditVerify, reader.token)).statusCode).toBe(403);
      expect((await call('GET', `${ROUTES.audit}?tenant=${tenantA}`, ownerB)).statusCode).toBe(404);
      const byAdmin = (
        await call('GET', `${ROUTES.audit}?tenant=${tenantA}`, v.admin)
      ).json<AuditList>();
      expect(byAdmin.entries.length).toBeGreaterThan(4);
      const report = await verify(v.admin);
      expect(report.ok).toBe(true);
      expect(report.chains.map((c) => c.chain).sort()).toHaveLength(3);
    });

    it('keeps each chain gapless and valid under concurrent appends', async () => {
      const before = (await rows(tenantA)).length;
      // A second vault instance on the same PostgreSQL appends to the same chain at once.
      const other = dialect === 'postgres' ? await makeVault({ dbUrl: testDb!.url }) : v;
      try {
        await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            (i % 2 === 0 ? v : other).app.inject({
              method: 'POST',
              url: ROUTES.vaults,
              headers: auth(ownerA),
              payload: { name: `parallel-${i}` },
            }),
          ),
        );
      } finally {
        if (other !== v) await other.close();
      }
      const after = await rows(tenantA);
      expect(after.map((r) => r.seq)).toEqual(after.map((_, i) => i + 1));
      expect(after.length).toBe(before + 30);
      expect((await verify(ownerA)).ok).toBe(true);
    });

    it('verify names an edited, a deleted, a truncated and an inserted entry', async () => {
      const { db } = v.meta;
      const original = await rows(tenantA);
      const last = original.at(-1)!;
      expect(await verify(ownerA)).toMatchObject({
        ok: true,
        chains: [{ chain: tenantA, entries: original.length }],
      });

      // Edited: a refusal turned into a success.
      await db
        .updateTable('audit_log')
        .set({ status: 201, error_code: null })
        .where('chain', '=', tenantA)
        .where('seq', '=', 3)
        .execute();
      let report = await verify(ownerA);
      expect(report.ok).toBe(false);
      expect(report.chains[0]!.problem).toMatchObject({ seq: 3, kind: 'edited' });
      expect(report.chains[0]!.problem!.message).toMatch(/entry #3 .*vault\.create.* edited/);
      await db
        .updateTable('audit_log')
        .set({ status: 403, error_code: 'FORBIDDEN' })
        .where('chain', '=', tenantA)
        .where('seq', '=', 3)
        .execute();
      expect((await verify(ownerA)).ok).toBe(true);

      // Deleted from the middle.
      const put = (row: AuditLogTable) => db.insertInto('audit_log').values(row).execute();
      await db.deleteFrom('audit_log').where('chain', '=', tenantA).where('seq', '=', 2).execute();
      report = await verify(ownerA);
      expect(report.chains[0]!.problem).toMatchObject({ seq: 2, kind: 'deleted' });
      expect(report.chains[0]!.problem!.message).toMatch(/entry #2 is missing/);
      await put(original[1]!);

      // Deleted from the end: the chain head still counts it.
      await db
        .deleteFrom('audit_log')
        .where('chain', '=', tenantA)
        .where('seq', '=', last.seq)
        .execute();
      report = await verify(ownerA);
      expect(report.chains[0]!.problem).toMatchObject({ seq: last.seq, kind: 'deleted' });
      expect(report.chains[0]!.problem!.message).toMatch(/missing at the end/);
      await put(last);

      // Inserted past the head, even with a correctly chained hash.
      const forged = { ...last, seq: last.seq + 1, action: 'forged', status: 200 };
      const { hash: _, ...content } = forged;
      await put({ ...forged, hash: entryHash(last.hash, content) });
      report = await verify(ownerA);
      expect(report.chains[0]!.problem).toMatchObject({ seq: last.seq + 1, kind: 'inserted' });
      await db
        .deleteFrom('audit_log')
        .where('chain', '=', tenantA)
        .where('seq', '=', last.seq + 1)
        .execute();

      // The newest entry edited and re-hashed: only the head shows it.
      const rewritten = { ...last, status: 500 };
      const { hash: __, ...rewrittenContent } = rewritten;
      const previous = original.at(-2)!;
      await db
        .updateTable('audit_log')
        .set({ status: 500, hash: entryHash(previous.hash, rewrittenContent) })
        .where('chain', '=', tenantA)
        .where('seq', '=', last.seq)
        .execute();
      report = await verify(ownerA);
      expect(report.chains[0]!.problem).toMatchObject({ seq: last.seq, kind: 'head' });
      await db
        .updateTable('audit_log')
        .set({ status: last.status, hash: last.hash })
        .where('chain', '=', tenantA)
        .where('seq', '=', last.seq)
        .execute();
      expect((await verify(ownerA)).ok).toBe(true);
      // Tenant B's chain is not A's business, nor A's verification B's.
      expect((await verify(ownerB)).chains.map((c) => c.chain)).not.toContain(tenantA);
    });
  });
}
