import {
  ROUTES,
  route,
  type Alert,
  type AlertList,
  type Item,
  type Job,
  type Point,
  type PointList,
  type VaultSettings,
} from '@coffer/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  runHealthChecks,
  AGENT_OFFLINE_AFTER_MS,
  MISSED_AFTER_MS,
} from '../src/alerts/health-task.js';
import { expireVault } from '../src/history/expire.js';
import { endSilentJobs } from '../src/lifecycle/job-timeouts.js';
import { runExpireTask } from '../src/history/expire-task.js';
import { runScheduler } from '../src/lifecycle/scheduler.js';
import { hashSecret, newEntityId, newSecret } from '../src/secrets.js';
import { auth, makeVault, type InProcessVault } from './in-process-vault.js';

const DIALECTS = ['sqlite', 'postgres'] as const;
const DAY = 86_400_000;
const SOURCES = Buffer.from('sealed sources stand-in').toString('base64');
const STATS = {
  files: 1,
  directories: 1,
  otherEntries: 0,
  bytes: 1,
  newFiles: 1,
  changedFiles: 0,
  unchangedFiles: 0,
  addedBytes: 1,
  storedBytes: 1,
  warnings: 0,
};
const SPEC = {
  schedule: { times: ['02:00'], days: [], timeZone: 'UTC' },
  retention: { daily: { days: 7 } },
};

describe.each(DIALECTS)('history: expiry, soft delete, immutability, alerts (%s)', (dialect) => {
  let v: InProcessVault;
  let owner: string;
  let contributor: string;
  let tenantId: string;
  let vaultId: string;
  let agent: { id: string; token: string };
  let item: Item;
  let pointNo = 0;

  async function call<T = unknown>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    token: string,
    payload?: unknown,
  ): Promise<{ status: number; body: T; code?: string; message?: string }> {
    const r = await v.app.inject({
      method,
      url,
      headers: auth(token),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    const body =
      r.body === '' ? undefined : (r.json() as T & { error?: { code: string; message: string } });
    const error = (body as { error?: { code: string; message: string } } | undefined)?.error;
    return {
      status: r.statusCode,
      body: body as T,
      ...(error ? { code: error.code, message: error.message } : {}),
    };
  }

  /** A committed point of the item at the vault's clock, claiming `claimed` as its own times. */
  async function commit(claimed = v.clock.now): Promise<string> {
    const id = (++pointNo).toString(16).padStart(64, 'a');
    await v.meta.db
      .insertInto('points')
      .values({
        id,
        vault_id: vaultId,
        agent_id: agent.id,
        keyring_id: 'k'.repeat(32),
        item: 'docs',
        item_id: item.id,
        parent: null,
        hostname: 'h',
        start_time: claimed,
        end_time: claimed,
        created_at: v.clock.now,
        stats: JSON.stringify(STATS),
      })
      .execute();
    return id;
  }

  const live = async () =>
    (
      await call<PointList>('GET', route(ROUTES.vaultPoints, { vault: vaultId }), owner)
    ).body.points.map((p) => p.id);
  const deleted = async () =>
    (
      await call<PointList>(
        'GET',
        `${route(ROUTES.vaultPoints, { vault: vaultId })}?deleted=true`,
        owner,
      )
    ).body.points;
  const alerts = async () => (await call<AlertList>('GET', ROUTES.alerts, owner)).body.alerts;
  const settings = (token: string, body: object) =>
    call<VaultSettings>('PATCH', route(ROUTES.vaultSettings, { vault: vaultId }), token, body);

  beforeAll(async () => {
    v = await makeVault({ dialect });
    v.clock.now = Date.parse('2025-01-01T12:00:00Z');
    const t = await call<{ token: string; tenant: { id: string } }>(
      'POST',
      ROUTES.tenants,
      v.admin,
      {
        name: 'hist',
      },
    );
    owner = t.body.token;
    tenantId = t.body.tenant.id;
    vaultId = (await call<{ id: string }>('POST', ROUTES.vaults, owner, { name: 'v' })).body.id;
    contributor = (
      await call<{ token: string }>('POST', ROUTES.tokens, owner, {
        name: 'c',
        role: 'contributor',
      })
    ).body.token;
    const id = newEntityId('ag');
    const token = newSecret('cft_agent');
    await v.meta.db
      .insertInto('agents')
      .values({
        id,
        vault_id: vaultId,
        tenant_id: tenantId,
        name: 'm',
        hostname: 'h',
        keyring_id: 'k'.repeat(32),
        created_at: v.clock.now,
        last_contact_at: null,
        agent_version: null,
      })
      .execute();
    await v.meta.db
      .insertInto('tokens')
      .values({
        id: newEntityId('tk'),
        hash: hashSecret(token),
        kind: 'agent',
        tenant_id: tenantId,
        role: null,
        agent_id: id,
        name: 'm',
        created_at: v.clock.now,
      })
      .execute();
    agent = { id, token };
    await call('POST', route(ROUTES.vaultPolicies, { vault: vaultId }), owner, {
      name: 'daily7',
      spec: SPEC,
    });
    item = (
      await call<Item>('POST', route(ROUTES.agentItems, { agent: id }), token, {
        name: 'docs',
        sources: SOURCES,
        policy: 'daily7',
      })
    ).body;
  });

  afterAll(async () => {
    await v?.close();
  });

  it('expires by the vault clock, whatever dates the agent claims, then purges after the period', async () => {
    const ids: string[] = [];
    for (let day = 0; day < 10; day++) {
      // The agent claims dates far in the future and the past; the vault's commit time rules.
      ids.push(await commit(day % 2 ? Date.parse('2099-01-01') : Date.parse('1999-01-01')));
      v.clock.now += DAY;
    }
    v.clock.now -= DAY; // day 9, 12:00
    const result = await expireVault(v.app.vault, vaultId);
    expect(result).toEqual({ items: 1, expired: 3, purged: 0 });
    // Listings sort by the times the agent claims; compare as sets.
    expect((await live()).sort()).toEqual(ids.slice(3).sort());
    const gone = await deleted();
    expect(gone.map((p) => p.id).sort()).toEqual(ids.slice(0, 3).sort());
    expect(gone[0]!.deleteReason).toBe('expired');
    expect(Date.parse(gone[0]!.purgeAt!) - Date.parse(gone[0]!.deletedAt!)).toBe(14 * DAY);
    v.clock.now += 14 * DAY + 1;
    // Backups stopped: the newest point stays, whatever its age.
    const later = await expireVault(v.app.vault, vaultId);
    expect(later.purged).toBe(3);
    expect(await live()).toEqual([ids[9]]);
    expect((await deleted()).length).toBe(6);
  });

  it('runs expiry as a job, on demand, and refuses it to agents', async () => {
    const refused = await call('POST', route(ROUTES.vaultExpire, { vault: vaultId }), agent.token);
    expect(refused.status).toBe(403);
    const queued = await call<{ job: Job }>(
      'POST',
      route(ROUTES.vaultExpire, { vault: vaultId }),
      owner,
    );
    expect(queued.status).toBe(201);
    await runExpireTask(v.app);
    const job = await call<Job>('GET', route(ROUTES.job, { job: queued.body.job.id }), owner);
    expect(job.body.state).toBe('succeeded');
    expect(job.body.kind).toBe('expire');
    expect(job.body.result).toMatchObject({ items: 1 });
    // The task queued the vault's own scheduled run too, and ran it.
    const jobs = await v.meta.db
      .selectFrom('jobs')
      .select(['trigger', 'state'])
      .where('kind', '=', 'expire')
      .execute();
    expect(jobs.filter((j) => j.trigger === 'schedule').map((j) => j.state)).toEqual(['succeeded']);
  });

  it('deletes and undeletes points; agents may not', async () => {
    const id = await commit();
    const url = route(ROUTES.vaultPoint, { vault: vaultId, point: id });
    const byAgent = await call('DELETE', url, agent.token);
    expect(byAgent.status).toBe(403);
    expect(byAgent.message).toMatch(/agent credential may not delete/);
    const gone = await call<Point>('DELETE', url, contributor);
    expect(gone.status).toBe(200);
    expect(gone.body.deleteReason).toBe('deleted');
    expect(await live()).not.toContain(id);
    expect((await call('DELETE', url, contributor)).status).toBe(404);
    const back = await call<Point>(
      'POST',
      route(ROUTES.vaultPointUndelete, { vault: vaultId, point: id }),
      contributor,
    );
    expect(back.status).toBe(200);
    expect(back.body.deletedAt).toBeUndefined();
    expect(await live()).toContain(id);
    // The audit log holds the agent's refusal.
    const audit = await v.meta.db
      .selectFrom('audit_log')
      .select(['action', 'status', 'actor_kind'])
      .where('action', '=', 'point.delete')
      .execute();
    expect(audit).toContainEqual({ action: 'point.delete', status: 403, actor_kind: 'agent' });
  });

  it('keeps soft delete always on and immutability locked, for owner and service admin alike', async () => {
    expect((await settings(agent.token, { softDeleteDays: 0 })).status).toBe(403);
    expect((await settings(owner, { softDeleteDays: 30 })).body.softDeleteDays).toBe(30);
    const on = await settings(owner, { softDeleteAlwaysOn: true });
    expect(on.body).toMatchObject({ softDeleteAlwaysOn: true, softDeleteDays: 30 });
    const off = await settings(owner, { softDeleteDays: 0 });
    expect(off.status).toBe(400);
    expect(off.message).toMatch(/always on/);
    expect((await settings(owner, { immutability: 'unlocked' })).body.immutability).toBe(
      'unlocked',
    );
    expect((await settings(owner, { immutability: 'off' })).body.immutability).toBe('off');
    expect((await settings(owner, { immutability: 'locked' })).body.immutability).toBe('locked');

    for (const who of [owner, v.admin]) {
      const unlock = await settings(who, { immutability: 'off' });
      expect(unlock.status).toBe(409);
      expect(unlock.code).toBe('IMMUTABLE');
      expect(unlock.message).toMatch(/locked/);
      const shorter = await settings(who, { softDeleteDays: 20 });
      expect(shorter.code).toBe('IMMUTABLE');
      const [first] = await live();
      const del = await call(
        'DELETE',
        route(ROUTES.vaultPoint, { vault: vaultId, point: first! }),
        who,
      );
      expect(del.code).toBe('IMMUTABLE');
      expect(del.message).toMatch(/before its expiry/);
    }
    const policy = (await v.meta.db.selectFrom('policies').select('id').executeTakeFirstOrThrow())
      .id;
    const shorten = await call('PUT', route(ROUTES.policy, { policy }), owner, {
      spec: { ...SPEC, retention: { keepLast: 1 } },
    });
    expect(shorten.code).toBe('IMMUTABLE');
    expect(shorten.message).toMatch(/removes the daily rule/);
    const longer = await call('PUT', route(ROUTES.policy, { policy }), owner, {
      spec: { ...SPEC, retention: { daily: { days: 30 } } },
    });
    expect(longer.status).toBe(200);
    const stop = await call('POST', route(ROUTES.itemStop, { item: item.id }), owner, {
      deleteData: true,
    });
    expect(stop.code).toBe('IMMUTABLE');
    const kinds = (await alerts()).map((a) => a.kind);
    expect(kinds.filter((k) => k === 'immutability.changed')).toHaveLength(1);
    // Nothing else may change now; later tests run on a second vault row reset by hand.
    await v.meta.db
      .updateTable('vaults')
      .set({ immutability: 'off', soft_delete_always_on: 0, soft_delete_days: 14 })
      .where('id', '=', vaultId)
      .execute();
  });

  it('alerts on a failed backup once, and resolves it with the next success', async () => {
    const start = async () =>
      (
        await call<Job>('POST', route(ROUTES.agentJobs, { agent: agent.id }), agent.token, {
          kind: 'backup',
          item: 'docs',
        })
      ).body;
    const finish = (job: Job, body: object) =>
      call('POST', route(ROUTES.jobFinish, { job: job.id }), agent.token, body);
    for (let i = 0; i < 2; i++)
      await finish(await start(), { state: 'failed', error: 'disk on fire' });
    let failed = (await alerts()).filter((a: Alert) => a.kind === 'backup.failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.count).toBe(2);
    expect(failed[0]!.state).toBe('open');
    await finish(await start(), { state: 'warnings', warningCount: 2 });
    failed = (await alerts()).filter((a: Alert) => a.kind === 'backup.failed');
    expect(failed[0]!.state).toBe('resolved');
    expect((await alerts()).find((a) => a.kind === 'backup.warnings')?.state).toBe('open');
    await finish(await start(), { state: 'succeeded' });
    expect((await alerts()).find((a) => a.kind === 'backup.warnings')?.state).toBe('resolved');
  });

  it('alerts when retention is shortened, and when a silent backup times out', async () => {
    const policy = (await v.meta.db.selectFrom('policies').select('id').executeTakeFirstOrThrow())
      .id;
    const shorter = await call('PUT', route(ROUTES.policy, { policy }), owner, { spec: SPEC });
    expect(shorter.status).toBe(200);
    const [alert] = (await alerts()).filter((a) => a.kind === 'retention.shortened');
    expect(alert!.severity).toBe('critical');
    expect(alert!.message).toMatch(/lowers daily from 30 to 7/);
    const job = (
      await call<Job>('POST', route(ROUTES.agentJobs, { agent: agent.id }), agent.token, {
        kind: 'backup',
        item: 'docs',
      })
    ).body;
    v.clock.now += 200_000;
    expect(await endSilentJobs(v.app, 180_000, 0)).toBe(1);
    const failed = (await alerts()).filter((a) => a.kind === 'backup.failed' && a.state === 'open');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.message).toContain(job.id);
    expect(failed[0]!.message).toMatch(/stopped reporting/);
  });

  it('raises a missed backup and an offline agent, each once', async () => {
    await v.meta.db
      .updateTable('agents')
      .set({ last_contact_at: v.clock.now })
      .where('id', '=', agent.id)
      .execute();
    await v.meta.db
      .updateTable('items')
      .set({ next_slot_at: v.clock.now - 1 })
      .where('id', '=', item.id)
      .execute();
    await runScheduler(v.app, () => undefined);
    v.clock.now += MISSED_AFTER_MS + 1;
    await runHealthChecks(v.app);
    await runHealthChecks(v.app);
    const missed = (await alerts()).filter((a) => a.kind === 'backup.missed');
    expect(missed).toHaveLength(1);
    expect(missed[0]!.count).toBe(1);
    v.clock.now += AGENT_OFFLINE_AFTER_MS;
    await runHealthChecks(v.app);
    await runHealthChecks(v.app);
    const offline = (await alerts()).filter((a) => a.kind === 'agent.offline');
    expect(offline.map((a) => [a.state, a.count])).toEqual([['open', 1]]);
    await v.meta.db
      .updateTable('agents')
      .set({ last_contact_at: v.clock.now })
      .where('id', '=', agent.id)
      .execute();
    await runHealthChecks(v.app);
    expect((await alerts()).find((a) => a.kind === 'agent.offline')?.state).toBe('resolved');
  });

  it('stops protection; with delete-data soft-deletes every point and alerts; agents may not', async () => {
    const url = route(ROUTES.itemStop, { item: item.id });
    expect((await call('POST', url, agent.token, { deleteData: true })).status).toBe(403);
    const before = (await live()).length;
    expect(before).toBeGreaterThan(0);
    const stopped = await call<{ pointsDeleted: number }>('POST', url, owner, { deleteData: true });
    expect(stopped.status).toBe(200);
    expect(stopped.body.pointsDeleted).toBe(before);
    expect(await live()).toEqual([]);
    const row = await v.meta.db
      .selectFrom('items')
      .selectAll()
      .where('id', '=', item.id)
      .executeTakeFirstOrThrow();
    expect(row.policy_id).toBeNull();
    expect(row.next_slot_at).toBeNull();
    expect((await alerts()).find((a) => a.kind === 'protection.stopped')?.severity).toBe(
      'critical',
    );
    // The stolen agent cannot give the stopped item a policy again.
    const again = await call('PATCH', route(ROUTES.item, { item: item.id }), agent.token, {
      policy: 'daily7',
    });
    expect(again.status).toBe(403);
  });
});
