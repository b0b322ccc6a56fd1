import { API_DOCS, ROUTES, route, type Item, type Job, type Policy } from '@coffer/api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { endSilentJobs } from '../src/lifecycle/job-timeouts.js';
import { runScheduler } from '../src/lifecycle/scheduler.js';
import { hashSecret, newEntityId, newSecret } from '../src/secrets.js';
import { auth, makeVault, type InProcessVault } from './in-process-vault.js';

const DIALECTS = ['sqlite', 'postgres'] as const;
const HOUR = 3600_000;
const SOURCES = Buffer.from('sealed sources stand-in').toString('base64');

/** A policy spec: daily at `times` (UTC), kept 7 days. */
function spec(times = ['02:00'], timeZone = 'UTC') {
  return { schedule: { times, days: [], timeZone }, retention: { daily: { days: 7 } } };
}

interface Tenant {
  id: string;
  vaultId: string;
  owner: string;
  contributor: string;
  operator: string;
  reader: string;
}

interface Agent {
  id: string;
  token: string;
  keyringId: string;
}

describe.each(DIALECTS)('items, policies and jobs (%s metadata)', (dialect) => {
  let v: InProcessVault;
  let a: Tenant;
  let b: Tenant;
  let alpha: Agent;
  let beta: Agent;
  let gamma: Agent;

  async function call<T = unknown>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    token: string | undefined,
    payload?: unknown,
  ): Promise<{ status: number; body: T; code?: string }> {
    const r = await v.app.inject({
      method,
      url,
      ...(token ? { headers: auth(token) } : {}),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    const body = r.body === '' ? undefined : (r.json() as T & { error?: { code: string } });
    return {
      status: r.statusCode,
      body: body as T,
      ...(body && typeof body === 'object' && 'error' in body && body.error
        ? { code: body.error.code }
        : {}),
    };
  }

  async function makeTenant(name: string): Promise<Tenant> {
    const t = await call<{ token: string; tenant: { id: string } }>(
      'POST',
      ROUTES.tenants,
      v.admin,
      {
        name,
      },
    );
    const owner = t.body.token;
    const vault = await call<{ id: string }>('POST', ROUTES.vaults, owner, { name: 'v' });
    const token = async (role: string) =>
      (await call<{ token: string }>('POST', ROUTES.tokens, owner, { name: role, role })).body
        .token;
    return {
      id: t.body.tenant.id,
      vaultId: vault.body.id,
      owner,
      contributor: await token('contributor'),
      operator: await token('operator'),
      reader: await token('reader'),
    };
  }

  /** An agent row and token made directly (registration is tested elsewhere). */
  async function makeAgent(tenant: Tenant, keyringId: string): Promise<Agent> {
    const id = newEntityId('ag');
    const token = newSecret('cft_agent');
    await v.meta.db
      .insertInto('agents')
      .values({
        id,
        vault_id: tenant.vaultId,
        tenant_id: tenant.id,
        name: id,
        hostname: 'h',
        keyring_id: keyringId,
        created_at: v.clock.now,
      })
      .execute();
    await v.meta.db
      .insertInto('tokens')
      .values({
        id: newEntityId('tk'),
        hash: hashSecret(token),
        kind: 'agent',
        tenant_id: tenant.id,
        role: null,
        agent_id: id,
        name: id,
        created_at: v.clock.now,
      })
      .execute();
    return { id, token, keyringId };
  }

  /** A committed point row of `agent`'s item `item` (closure checks are tested elsewhere). */
  async function makePoint(agent: Agent, tenant: Tenant, itemId: string): Promise<string> {
    const id = Buffer.from(newEntityId('pt').padEnd(32, '0')).toString('hex').slice(0, 64);
    await v.meta.db
      .insertInto('points')
      .values({
        id,
        vault_id: tenant.vaultId,
        agent_id: agent.id,
        keyring_id: agent.keyringId,
        item: 'docs',
        item_id: itemId,
        parent: null,
        hostname: 'h',
        start_time: v.clock.now,
        end_time: v.clock.now,
        created_at: v.clock.now,
        stats: JSON.stringify({ files: 1, bytes: 1 }),
      })
      .execute();
    return id;
  }

  async function createPolicy(tenant: Tenant, name: string, times?: string[]): Promise<Policy> {
    const r = await call<Policy>(
      'POST',
      route(ROUTES.vaultPolicies, { vault: tenant.vaultId }),
      tenant.contributor,
      { name, spec: spec(times) },
    );
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body;
  }

  async function protect(agent: Agent, name: string, policy?: string) {
    return call<Item>('POST', route(ROUTES.agentItems, { agent: agent.id }), agent.token, {
      name,
      sources: SOURCES,
      ...(policy ? { policy } : {}),
    });
  }

  async function jobsOf(itemId: string) {
    return v.meta.db.selectFrom('jobs').selectAll().where('item_id', '=', itemId).execute();
  }

  beforeAll(async () => {
    v = await makeVault({ dialect });
    // Midnight UTC, so that slot arithmetic below reads plainly.
    v.clock.now = Date.parse('2026-03-02T00:00:00Z');
    a = await makeTenant('a');
    b = await makeTenant('b');
    alpha = await makeAgent(a, '11'.repeat(16));
    beta = await makeAgent(a, '22'.repeat(16));
    gamma = await makeAgent(b, '33'.repeat(16));
  });

  afterAll(async () => {
    await v?.close();
  });

  // Each case's jobs are younger than the last case's, so "the last job" is well defined.
  beforeEach(() => {
    v.clock.now += 60_000;
  });

  it('lets only users with the write role create, change and delete policies', async () => {
    const url = route(ROUTES.vaultPolicies, { vault: a.vaultId });
    for (const token of [a.operator, a.reader, alpha.token]) {
      const r = await call('POST', url, token, { name: 'nope', spec: spec() });
      expect(r.status).toBe(403);
    }
    expect((await call('POST', url, b.owner, { name: 'x', spec: spec() })).status).toBe(404);
    const daily = await createPolicy(a, 'daily');
    expect(daily.items).toBe(0);
    const again = await call('POST', url, a.owner, { name: 'daily', spec: spec(['03:00']) });
    expect(again.status).toBe(409);
    expect(again.code).toBe('ALREADY_EXISTS');
    expect(JSON.stringify(again.body)).toMatch(/policy named daily already/);
    const policyUrl = route(ROUTES.policy, { policy: daily.id });
    expect((await call('PUT', policyUrl, a.operator, { spec: spec() })).status).toBe(403);
    expect((await call('DELETE', policyUrl, a.reader)).status).toBe(403);
    expect((await call('GET', policyUrl, a.reader)).status).toBe(200);
    expect((await call('GET', policyUrl, b.owner)).status).toBe(404);
    // An agent reads a policy only once one of its items uses it.
    expect((await call('GET', policyUrl, alpha.token)).status).toBe(404);
    const list = await call<{ policies: Policy[] }>('GET', url, a.reader);
    expect(list.body.policies.map((p) => p.name)).toEqual(['daily']);
  });

  it.each([
    ['an unknown time zone', spec(['02:00'], 'Mars/Olympus'), /not a known IANA time zone/],
    ['25:00', spec(['25:00']), /"25:00" is not a time of day/],
    [
      'retention out of range',
      { ...spec(), retention: { daily: { days: 3 } } },
      /3 is out of range/,
    ],
    ['no retention rule', { ...spec(), retention: {} }, /at least one rule/],
  ])('refuses a policy with %s, and creates nothing', async (_what, bad, message) => {
    const url = route(ROUTES.vaultPolicies, { vault: a.vaultId });
    const before = (await call<{ policies: Policy[] }>('GET', url, a.owner)).body.policies.length;
    const r = await call('POST', url, a.owner, { name: 'bad', spec: bad });
    expect(r.status).toBe(400);
    expect(r.code).toBe('POLICY_INVALID');
    expect((r.body as { error: { message: string } }).error.message).toMatch(message);
    const after = (await call<{ policies: Policy[] }>('GET', url, a.owner)).body.policies.length;
    expect(after).toBe(before);
  });

  it('lets an agent create its items and give one a policy, but never change or remove it', async () => {
    const weekly = await createPolicy(a, 'weekly-ish', ['04:00']);
    const created = await protect(alpha, 'docs', 'daily');
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.policy).toBe('daily');
    expect(created.body.nextRunAt).toBe('2026-03-02T02:00:00.000Z');
    expect(created.body.sources).toBe(SOURCES);
    const itemUrl = route(ROUTES.item, { item: created.body.id });
    // The same paths again: fine. Another policy: refused, and nothing changes.
    expect((await protect(alpha, 'docs', 'daily')).status).toBe(200);
    const swap = await protect(alpha, 'docs', weekly.name);
    expect(swap.status).toBe(403);
    expect(JSON.stringify(swap.body)).toMatch(/write role/);
    for (const policy of [weekly.id, null]) {
      expect((await call('PATCH', itemUrl, alpha.token, { policy })).status).toBe(403);
    }
    expect((await call('PATCH', itemUrl, a.operator, { policy: weekly.id })).status).toBe(403);
    expect((await call<Item>('GET', itemUrl, alpha.token)).body.policy).toBe('daily');
    // A user with the write role may change it; the next run follows the new schedule.
    const changed = await call<Item>('PATCH', itemUrl, a.contributor, { policy: weekly.name });
    expect(changed.status).toBe(200);
    expect(changed.body.nextRunAt).toBe('2026-03-02T04:00:00.000Z');
    const back = await call<Item>('PATCH', itemUrl, a.owner, { policy: 'daily' });
    expect(back.body.nextRunAt).toBe('2026-03-02T02:00:00.000Z');
    // An item without a policy may be given one by its agent.
    const bare = await protect(alpha, 'etc');
    expect(bare.body.policy).toBeUndefined();
    const given = await call<Item>(
      'PATCH',
      route(ROUTES.item, { item: bare.body.id }),
      alpha.token,
      {
        policy: 'daily',
      },
    );
    expect(given.status).toBe(200);
    expect(
      (await call('GET', route(ROUTES.policy, { policy: given.body.policyId! }), alpha.token))
        .status,
    ).toBe(200);
  });

  it("hides an agent's items, jobs and restore requests from other agents and tenants (404 like unknown ids)", async () => {
    const item = (await protect(alpha, 'docs')).body;
    const queued = await call<{ job: Job }>(
      'POST',
      route(ROUTES.itemBackup, { item: item.id }),
      a.operator,
    );
    const job = queued.body.job;
    const unknownItem = newEntityId('it');
    const unknownJob = newEntityId('jb');
    for (const token of [beta.token, gamma.token, b.owner]) {
      for (const [method, url] of [
        ['GET', route(ROUTES.item, { item: item.id })],
        ['GET', route(ROUTES.item, { item: unknownItem })],
        ['POST', route(ROUTES.itemBackup, { item: item.id })],
        ['GET', route(ROUTES.job, { job: job.id })],
        ['GET', route(ROUTES.job, { job: unknownJob })],
        ['POST', route(ROUTES.jobCancel, { job: job.id })],
        ['GET', route(ROUTES.agentItems, { agent: alpha.id })],
        ['GET', route(ROUTES.agentJobs, { agent: alpha.id })],
      ] as const) {
        const r = await call(method, url, token);
        expect(
          [r.status, r.code],
          `${token === b.owner ? 'tenant b' : 'agent'} ${method} ${url}`,
        ).toEqual([404, 'NOT_FOUND']);
      }
    }
    for (const [path, body] of [
      [ROUTES.jobClaim, undefined],
      [ROUTES.jobProgress, { bytesDone: 1, filesDone: 1 }],
      [ROUTES.jobFinish, { state: 'succeeded' }],
    ] as const) {
      const r = await call('POST', route(path, { job: job.id }), beta.token, body);
      expect(r.status).toBe(404);
    }
    const betaWork = await call<{ jobs: Job[] }>('GET', `${ROUTES.agentWork}?wait=0`, beta.token);
    expect(betaWork.body.jobs.map((j) => j.id)).not.toContain(job.id);
    // Tenant listings stay within the tenant.
    const bJobs = await call<{ jobs: Job[] }>(
      'GET',
      route(ROUTES.vaultJobs, { vault: a.vaultId }),
      b.owner,
    );
    expect(bJobs.status).toBe(404);
    const aJobs = await call<{ jobs: Job[] }>(
      'GET',
      route(ROUTES.vaultJobs, { vault: a.vaultId }),
      a.reader,
    );
    expect(aJobs.body.jobs.map((j) => j.id)).toContain(job.id);
    await call('POST', route(ROUTES.jobCancel, { job: job.id }), a.operator);
  });

  it('lets readers see jobs but not start or cancel them; a second "back up now" reports the first', async () => {
    const item = (await protect(alpha, 'docs')).body;
    const url = route(ROUTES.itemBackup, { item: item.id });
    expect((await call('POST', url, a.reader)).status).toBe(403);
    const first = await call<{ job: Job; alreadyRunning: boolean }>('POST', url, a.operator);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      alreadyRunning: false,
      job: { state: 'queued', trigger: 'on-demand' },
    });
    const second = await call<{ job: Job; alreadyRunning: boolean }>('POST', url, alpha.token);
    expect(second.status).toBe(200);
    expect(second.body.alreadyRunning).toBe(true);
    expect(second.body.job.id).toBe(first.body.job.id);
    const cancel = route(ROUTES.jobCancel, { job: first.body.job.id });
    expect((await call('POST', cancel, a.reader)).status).toBe(403);
    const cancelled = await call<Job>('POST', cancel, a.operator);
    expect(cancelled.body.state).toBe('cancelled');
    expect((await call('POST', cancel, a.operator)).code).toBe('JOB_STATE');
    // A manual backup of an item whose backup is queued is refused with the job to wait for.
    const queued = await call<{ job: Job }>('POST', url, a.operator);
    const manual = await call('POST', route(ROUTES.agentJobs, { agent: alpha.id }), alpha.token, {
      kind: 'backup',
      item: 'docs',
    });
    expect(manual.status).toBe(409);
    expect(manual.code).toBe('ALREADY_RUNNING');
    expect(JSON.stringify(manual.body)).toContain(queued.body.job.id);
    await call('POST', route(ROUTES.jobCancel, { job: queued.body.job.id }), a.operator);
  });

  it('runs a job from poll to claim, progress, cancellation and finish', async () => {
    const item = (await protect(alpha, 'docs')).body;
    const queued = await call<{ job: Job }>(
      'POST',
      route(ROUTES.itemBackup, { item: item.id }),
      a.owner,
    );
    const work = await call<{ jobs: Job[] }>(
      'GET',
      `${ROUTES.agentWork}?wait=5&version=9.9.9`,
      alpha.token,
    );
    expect(work.body.jobs.map((j) => j.id)).toEqual([queued.body.job.id]);
    const agents = await call<{ agents: { id: string; online: boolean; version?: string }[] }>(
      'GET',
      route(ROUTES.vaultAgents, { vault: a.vaultId }),
      a.reader,
    );
    expect(agents.body.agents.find((x) => x.id === alpha.id)).toMatchObject({
      online: true,
      version: '9.9.9',
    });
    const never = await makeAgent(a, '44'.repeat(16));
    expect(agents.body.agents.find((x) => x.id === never.id)).toBeUndefined();
    const again = await call<{ agents: { id: string; online: boolean; lastContactAt?: string }[] }>(
      'GET',
      route(ROUTES.vaultAgents, { vault: a.vaultId }),
      a.reader,
    );
    expect(again.body.agents.find((x) => x.id === never.id)).toEqual(
      expect.objectContaining({ online: false }),
    );
    expect(again.body.agents.find((x) => x.id === never.id)?.lastContactAt).toBeUndefined();
    const jobId = queued.body.job.id;
    const claim = await call<Job>('POST', route(ROUTES.jobClaim, { job: jobId }), alpha.token);
    expect(claim.body.state).toBe('running');
    expect((await call('POST', route(ROUTES.jobClaim, { job: jobId }), alpha.token)).code).toBe(
      'JOB_STATE',
    );
    const progress = route(ROUTES.jobProgress, { job: jobId });
    v.clock.now += 1000;
    const report = { bytesDone: 5000, bytesTotal: 10000, filesDone: 3, filesTotal: 7 };
    expect((await call('POST', progress, alpha.token, report)).body).toEqual({ cancel: false });
    const seen = await call<Job>('GET', route(ROUTES.job, { job: jobId }), a.reader);
    expect(seen.body.progress).toEqual({ ...report, rate: 5000 });
    expect(seen.body.item).toBe('docs');
    expect(
      (await call<Job>('POST', route(ROUTES.jobCancel, { job: jobId }), a.operator)).body,
    ).toMatchObject({
      state: 'running',
      cancelRequested: true,
    });
    expect((await call('POST', progress, alpha.token, report)).body).toEqual({ cancel: true });
    const finished = await call<Job>('POST', route(ROUTES.jobFinish, { job: jobId }), alpha.token, {
      state: 'cancelled',
      error: 'cancelled; no recovery point was made',
    });
    expect(finished.body).toMatchObject({
      state: 'cancelled',
      error: 'cancelled; no recovery point was made',
    });
    expect((await call('POST', progress, alpha.token, report)).code).toBe('JOB_STATE');
    // Claim, cancel and finish are in the audit log; the heartbeats in between are not.
    const audited = await v.meta.db
      .selectFrom('audit_log')
      .select('action')
      .where('resource', '=', JSON.stringify({ job: jobId }))
      .orderBy('seq')
      .execute();
    expect(audited.map((e) => e.action)).toEqual([
      'job.claim',
      'job.claim',
      'job.cancel',
      'job.finish',
    ]);
    const items = await call<{ items: Item[] }>(
      'GET',
      route(ROUTES.vaultItems, { vault: a.vaultId }),
      a.reader,
    );
    expect(items.body.items.find((i) => i.id === item.id)).toMatchObject({
      health: 'failed',
      lastJob: { id: jobId, state: 'cancelled' },
      agentOnline: true,
    });
  });

  it('queues one backup per slot, catches missed slots up once, and never repeats a slot when the clock goes back', async () => {
    const hourly = await createPolicy(
      a,
      'hourly',
      Array.from({ length: 24 }, (_, h) => `${String(h).padStart(2, '0')}:30`),
    );
    const item = (await protect(beta, 'hourly-item', hourly.name)).body;
    const slot = Date.parse(item.nextRunAt!);
    expect(slot).toBe(Date.parse('2026-03-02T00:30:00Z'));
    v.clock.now = slot - 1;
    await runScheduler(v.app);
    expect(await jobsOf(item.id)).toHaveLength(0);
    v.clock.now = slot;
    // Two vault instances looking at once queue it once.
    await Promise.all([runScheduler(v.app), runScheduler(v.app)]);
    let jobs = await jobsOf(item.id);
    expect(jobs.map((j) => [j.state, j.trigger, j.slot_at])).toEqual([
      ['queued', 'schedule', slot],
    ]);
    // Three more slots pass while the agent is away: still the one queued job.
    for (let n = 1; n <= 3; n++) {
      v.clock.now = slot + n * HOUR;
      await runScheduler(v.app);
    }
    jobs = await jobsOf(item.id);
    expect(jobs).toHaveLength(1);
    const row = await v.meta.db
      .selectFrom('items')
      .selectAll()
      .where('id', '=', item.id)
      .executeTakeFirstOrThrow();
    expect(row.next_slot_at).toBe(slot + 4 * HOUR);
    // The clock moves back over slots already run: nothing runs again.
    v.clock.now = slot + 30 * 60_000;
    await runScheduler(v.app);
    expect(await jobsOf(item.id)).toHaveLength(1);
    // Once the agent has run it, the next slot queues the next backup.
    await call('POST', route(ROUTES.jobClaim, { job: jobs[0]!.id }), beta.token);
    await call('POST', route(ROUTES.jobFinish, { job: jobs[0]!.id }), beta.token, {
      state: 'succeeded',
    });
    v.clock.now = slot + 4 * HOUR;
    await runScheduler(v.app);
    expect(
      (await jobsOf(item.id)).filter((j) => j.state === 'queued').map((j) => j.slot_at),
    ).toEqual([slot + 4 * HOUR]);
    // Editing the policy moves the item's next slot at once.
    const edited = await call<Policy>('PUT', route(ROUTES.policy, { policy: hourly.id }), a.owner, {
      spec: spec(['23:00']),
    });
    expect(edited.status).toBe(200);
    const moved = await call<Item>('GET', route(ROUTES.item, { item: item.id }), a.reader);
    expect(moved.body.nextRunAt).toBe('2026-03-02T23:00:00.000Z');
    // A policy in use cannot be deleted.
    const del = await call('DELETE', route(ROUTES.policy, { policy: hourly.id }), a.owner);
    expect(del.code).toBe('IN_USE');
    await v.meta.db
      .updateTable('jobs')
      .set({ state: 'cancelled' })
      .where('item_id', '=', item.id)
      .execute();
  });

  it.each([
    // 02:30 does not exist (02:00 -> 03:00): it runs once, as 03:30 summer time.
    ['02:30', 'Europe/Paris', '2026-03-28T12:00:00Z', '2026-03-29T01:30:00.000Z'],
    ['02:30', 'America/New_York', '2026-03-07T12:00:00Z', '2026-03-08T07:30:00.000Z'],
    // The hour is repeated (03:00 -> 02:00, 02:00 -> 01:00): it runs once, the first time.
    ['02:30', 'Europe/Paris', '2026-10-24T12:00:00Z', '2026-10-25T00:30:00.000Z'],
    ['01:30', 'America/New_York', '2026-10-31T12:00:00Z', '2026-11-01T05:30:00.000Z'],
  ])(
    'runs a %s %s slot once on the night of a DST change (from %s)',
    async (time, timeZone, from, expected) => {
      v.clock.now = Date.parse(from);
      const name = `dst-${timeZone.replace('/', '-')}-${from.slice(0, 10)}`;
      const made = await call<Policy>(
        'POST',
        route(ROUTES.vaultPolicies, { vault: b.vaultId }),
        b.owner,
        {
          name,
          spec: spec([time], timeZone),
        },
      );
      expect(made.status).toBe(201);
      const item = (await protect(gamma, name, name)).body;
      expect(item.policy).toBe(name);
      // Walk the vault's clock through the night; the agent finishes each job at once.
      for (let t = Date.parse(from); t <= Date.parse(from) + 24 * HOUR; t += 5 * 60_000) {
        v.clock.now = t;
        await runScheduler(v.app, () => undefined);
        await v.meta.db
          .updateTable('jobs')
          .set({ state: 'succeeded', ended_at: t })
          .where('item_id', '=', item.id)
          .where('state', '=', 'queued')
          .execute();
      }
      const slots = (await jobsOf(item.id)).map((j) => new Date(j.slot_at!).toISOString());
      expect(slots).toEqual([expected]);
      // No more slots for it in the cases after this one, whose clocks go elsewhere.
      await call('PATCH', route(ROUTES.item, { item: item.id }), b.owner, { policy: null });
    },
  );

  it('fails a running job whose agent went silent, but only after a full timeout since the vault started', async () => {
    const item = (await protect(beta, 'silent')).body;
    const queued = await call<{ job: Job }>(
      'POST',
      route(ROUTES.itemBackup, { item: item.id }),
      a.owner,
    );
    const jobId = queued.body.job.id;
    await call('POST', route(ROUTES.jobClaim, { job: jobId }), beta.token);
    const started = v.clock.now;
    v.clock.now = started + 60_000;
    // The vault itself started 10 s ago: the agent gets a full minute from then.
    expect(await endSilentJobs(v.app, 30_000, started + 50_000)).toBe(0);
    expect(await endSilentJobs(v.app, 30_000, started - HOUR)).toBe(1);
    const job = await call<Job>('GET', route(ROUTES.job, { job: jobId }), a.reader);
    expect(job.body.state).toBe('failed');
    expect(job.body.error).toMatch(/the agent stopped reporting \(no progress report for 30 s\)/);
    const late = await call('POST', route(ROUTES.jobFinish, { job: jobId }), beta.token, {
      state: 'succeeded',
    });
    expect(late.code).toBe('JOB_STATE');
  });

  it('checks restore requests: operators may ask, readers not; the target must be absolute; the point readable', async () => {
    const item = (await protect(alpha, 'docs')).body;
    const point = await makePoint(alpha, a, item.id);
    const url = route(ROUTES.agentRestores, { agent: alpha.id });
    const request = { point, target: '/srv/restored', conflict: 'overwrite' };
    expect((await call('POST', url, a.reader, request)).status).toBe(403);
    expect((await call('POST', url, alpha.token, request)).status).toBe(403);
    expect((await call('POST', url, b.owner, request)).status).toBe(404);
    const relative = await call('POST', url, a.operator, { ...request, target: 'restored' });
    expect(relative.status).toBe(400);
    expect(JSON.stringify(relative.body)).toMatch(/must be an absolute directory/);
    const dotdot = await call('POST', url, a.operator, { ...request, paths: ['/a/../etc'] });
    expect(dotdot.status).toBe(400);
    // Beta cannot read alpha's point at all; with a grant, still not unattended (another keyring).
    const betaUrl = route(ROUTES.agentRestores, { agent: beta.id });
    expect((await call('POST', betaUrl, a.operator, request)).status).toBe(404);
    await call('POST', route(ROUTES.agentGrants, { vault: a.vaultId, agent: alpha.id }), a.owner, {
      grantee: beta.id,
    });
    const foreign = await call('POST', betaUrl, a.operator, request);
    expect(foreign.status).toBe(400);
    expect(JSON.stringify(foreign.body)).toMatch(/another keyring/);
    expect(
      await v.meta.db.selectFrom('jobs').select('id').where('kind', '=', 'restore').execute(),
    ).toHaveLength(0);
    const made = await call<Job>('POST', url, a.operator, request);
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({
      kind: 'restore',
      state: 'queued',
      pointId: point,
      restore: request,
    });
    const work = await call<{ jobs: Job[] }>(
      'GET',
      `${ROUTES.agentWork}?wait=0&want=50`,
      alpha.token,
    );
    expect(work.body.jobs.map((j) => j.id)).toContain(made.body.id);
    const betaWork = await call<{ jobs: Job[] }>('GET', `${ROUTES.agentWork}?wait=0`, beta.token);
    expect(betaWork.body.jobs.map((j) => j.id)).not.toContain(made.body.id);
    await call('POST', route(ROUTES.jobCancel, { job: made.body.id }), a.operator);
  });

  it('wakes a waiting poll when a job is queued for its agent', async () => {
    const item = (await protect(gamma, 'wake')).body;
    const poll = call<{ jobs: Job[] }>('GET', `${ROUTES.agentWork}?wait=20`, gamma.token);
    const queued = await call<{ job: Job }>(
      'POST',
      route(ROUTES.itemBackup, { item: item.id }),
      b.operator,
    );
    const work = await poll;
    expect(work.body.jobs.map((j) => j.id)).toEqual([queued.body.job.id]);
    // With no room for more work, a poll only records contact.
    const busy = await call<{ jobs: Job[] }>(
      'GET',
      `${ROUTES.agentWork}?wait=0&want=0`,
      gamma.token,
    );
    expect(busy.body.jobs).toEqual([]);
  });

  it('describes every route in its OpenAPI document, served without a token', async () => {
    const doc = await call<{ paths: Record<string, Record<string, unknown>> }>(
      'GET',
      API_DOCS.openapi,
      undefined,
    );
    expect(doc.status).toBe(200);
    const paths = Object.keys(doc.body.paths);
    for (const path of Object.values(ROUTES)) {
      expect(paths, path).toContain(path.replace(/:([a-z]+)/g, '{$1}'));
    }
    expect(Object.keys(doc.body.paths['/v1/jobs/{job}/progress']!)).toEqual(['post']);
    const ui = await v.app.inject({ method: 'GET', url: `${API_DOCS.ui}/` });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toMatch(/swagger-ui/i);
  });
});
