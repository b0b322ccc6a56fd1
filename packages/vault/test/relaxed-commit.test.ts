import { ROUTES, route } from '@coffer/api';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { relaxedCommit } from '../src/db/relaxed-commit.js';
import type * as RelaxedCommit from '../src/db/relaxed-commit.js';
import { auth, makeVault, registerAgent, type InProcessVault } from './in-process-vault.js';

/** The routes whose writes went through relaxedCommit, in order. */
const relaxed = vi.hoisted(() => ({ routes: [] as string[], current: '' }));

vi.mock('../src/db/relaxed-commit.js', async (importOriginal) => {
  const real = await importOriginal<typeof RelaxedCommit>();
  return {
    relaxedCommit: ((ctx, fn) => {
      relaxed.routes.push(relaxed.current);
      return real.relaxedCommit(ctx, fn);
    }) satisfies typeof real.relaxedCommit,
  };
});

/** The setting that decides whether a commit waits for the disk. */
async function durability(v: InProcessVault): Promise<string> {
  if (v.meta.dialect === 'postgres') {
    const { rows } = await sql<{ synchronous_commit: string }>`SHOW synchronous_commit`.execute(
      v.meta.db,
    );
    return rows[0]!.synchronous_commit;
  }
  const { rows } = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(v.meta.db);
  return String(rows[0]!.synchronous);
}

describe.each(['sqlite', 'postgres'] as const)('relaxed commits (%s)', (dialect) => {
  let v: InProcessVault;
  // SQLite: 2 is FULL, 1 NORMAL. PostgreSQL: on, off.
  const waits = dialect === 'sqlite' ? '2' : 'on';
  const relaxes = dialect === 'sqlite' ? '1' : 'off';

  beforeAll(async () => {
    v = await makeVault({ dialect });
  });

  afterAll(async () => {
    await v?.close();
  });

  it('commits without waiting for the disk inside, and waits again after', async () => {
    expect(await durability(v)).toBe(waits);
    await relaxedCommit(v.meta, async (trx) => {
      const inside =
        dialect === 'postgres'
          ? (
              await sql<{ s: string }>`SELECT current_setting('synchronous_commit') AS s`.execute(
                trx,
              )
            ).rows[0]!.s
          : String(
              (await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(trx)).rows[0]!
                .synchronous,
            );
      expect(inside).toBe(relaxes);
      await trx.insertInto('settings').values({ key: 'relaxed-test', value: 'kept' }).execute();
    });
    expect(await durability(v)).toBe(waits);
    const row = await v.meta.db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', 'relaxed-test')
      .executeTakeFirst();
    expect(row?.value).toBe('kept');
  });

  it('rolls back a failed transaction and still restores the setting', async () => {
    await expect(
      relaxedCommit(v.meta, async (trx) => {
        await trx.insertInto('settings').values({ key: 'relaxed-fail', value: 'x' }).execute();
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await durability(v)).toBe(waits);
    const row = await v.meta.db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', 'relaxed-fail')
      .executeTakeFirst();
    expect(row).toBeUndefined();
  });
});

describe('which writes are relaxed', () => {
  let v: InProcessVault;
  let agent: { token: string; id: string };

  async function call(name: string, method: 'POST', url: string, token: string, payload: object) {
    relaxed.current = name;
    const r = await v.app.inject({ method, url, headers: auth(token), payload });
    relaxed.current = '';
    return r;
  }

  beforeAll(async () => {
    v = await makeVault();
    const registered = await registerAgent(v);
    agent = { token: registered.token, id: registered.agentId };
  });

  afterAll(async () => {
    await v?.close();
  });

  it('relaxes heartbeats and the audit entries of queries, not calls that change state', async () => {
    const ids = ['ab'.repeat(32)];
    relaxed.routes.length = 0;
    const job = await call(
      'job',
      'POST',
      route(ROUTES.agentJobs, { agent: agent.id }),
      agent.token,
      { kind: 'backup', item: 'default' },
    );
    expect(job.statusCode, job.body).toBe(201);
    const jobId = job.json<{ id: string }>().id;
    const exists = await call('exists', 'POST', ROUTES.blobsExist, agent.token, { ids });
    expect(exists.json()).toEqual({ missing: ids });
    const locate = await call(
      'locate',
      'POST',
      route(ROUTES.agentLocate, { agent: agent.id }),
      agent.token,
      { ids },
    );
    expect(locate.statusCode, locate.body).toBe(200);
    const progress = await call(
      'progress',
      'POST',
      route(ROUTES.jobProgress, { job: jobId }),
      agent.token,
      { bytesDone: 1, filesDone: 1 },
    );
    expect(progress.json()).toEqual({ cancel: false });
    expect(relaxed.routes).toEqual(['exists', 'locate', 'progress']);
    // Relaxed is still recorded: the queries are in the audit log, in order.
    const entries = await v.meta.db
      .selectFrom('audit_log')
      .select('route')
      .where('actor_agent', '=', agent.id)
      .orderBy('seq')
      .execute();
    expect(entries.map((e) => e.route)).toEqual([
      ROUTES.register,
      ROUTES.agentJobs,
      ROUTES.blobsExist,
      ROUTES.agentLocate,
    ]);
  });
});
