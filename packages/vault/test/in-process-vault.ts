/**
 * An in-process vault for route tests: a Fastify app on a metadata database (SQLite in memory by
 * default, or a fresh PostgreSQL database) and a blob store, with a clock the test moves.
 */
import { ROUTES, route } from '@coffer/api';
import { createKeyring, type MasterKeys } from '@coffer/core';
import type { BlobStore } from '@coffer/storage';
import { MemoryBlobStore } from '@coffer/storage';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { openMetadataDb, type MetadataDb } from '../src/db/connect.js';
import { LifecycleRunner } from '../src/lifecycle/runner.js';
import { hashSecret, newEntityId, newSecret } from '../src/secrets.js';
import { buildServer } from '../src/server.js';

export interface InProcessVault {
  app: FastifyInstance;
  meta: MetadataDb;
  clock: { now: number };
  admin: string;
  close(): Promise<void>;
}

const PG_ADMIN_URL = process.env.COFFER_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Creates a fresh PostgreSQL database; returns its URL and how to drop it. */
async function freshPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `coffer_unit_${process.pid}_${Math.random().toString(16).slice(2, 10)}`;
  const run = async (query: string): Promise<void> => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL });
    await client.connect();
    try {
      await client.query(query);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  // Without FORCE: the pool's connections are closing and must not be killed under it.
  const drop = async (): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run(`DROP DATABASE IF EXISTS ${name}`);
      } catch (error) {
        if (attempt >= 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  return { url: url.toString(), drop };
}

/**
 * Builds a vault with a service-admin token, without background tasks (tests run them by hand):
 * on a fresh database of `dialect`, or the database at `dbUrl`, and on `store`.
 */
export async function makeVault(
  options: { dialect?: 'sqlite' | 'postgres'; dbUrl?: string; store?: BlobStore } = {},
): Promise<InProcessVault> {
  const pgDb = options.dialect === 'postgres' ? await freshPgDatabase() : undefined;
  const meta = await openMetadataDb(pgDb?.url ?? options.dbUrl ?? 'sqlite::memory:');
  const clock = { now: Date.now() };
  const app = await buildServer({
    context: {
      db: meta.db,
      dialect: meta.dialect,
      store: options.store ?? new MemoryBlobStore(),
      publicUrl: 'https://127.0.0.1:1',
      fingerprint: 'ab'.repeat(32),
      now: () => clock.now,
      lifecycle: new LifecycleRunner({ error: () => undefined }),
    },
  });
  const admin = newSecret('cft_admin');
  await meta.db
    .insertInto('tokens')
    .values({
      id: newEntityId('tk'),
      hash: hashSecret(admin),
      kind: 'admin',
      tenant_id: null,
      role: null,
      agent_id: null,
      name: 'admin',
      created_at: clock.now,
    })
    .execute();
  return {
    app,
    meta,
    clock,
    admin,
    async close() {
      await app.close();
      await meta.close();
      await pgDb?.drop();
    },
  };
}

/** The Authorization header of `token`. */
export const auth = (token: string) => ({ authorization: `Bearer ${token}` });

/** A tenant owner, their vault and one agent registered into it with a fresh keyring. */
export interface RegisteredAgent {
  owner: string;
  vaultId: string;
  token: string;
  agentId: string;
  keys: MasterKeys;
  keyringId: string;
}

/** Creates tenant `t`, vault `v` and registers agent `m` (cheap scrypt) through the routes. */
export async function registerAgent(v: InProcessVault): Promise<RegisteredAgent> {
  const tenant = await v.app.inject({
    method: 'POST',
    url: ROUTES.tenants,
    headers: auth(v.admin),
    payload: { name: 't' },
  });
  const owner = tenant.json<{ token: string }>().token;
  const vault = await v.app.inject({
    method: 'POST',
    url: ROUTES.vaults,
    headers: auth(owner),
    payload: { name: 'v' },
  });
  const vaultId = vault.json<{ id: string }>().id;
  const kr = await createKeyring('a long enough passphrase', { kdf: { N: 1024, r: 8, p: 1 } });
  const creds = await v.app.inject({
    method: 'POST',
    url: route(ROUTES.vaultCredentials, { vault: vaultId }),
    headers: auth(owner),
  });
  const registered = await v.app.inject({
    method: 'POST',
    url: ROUTES.register,
    payload: {
      secret: creds.json<{ secret: string }>().secret,
      name: 'm',
      hostname: 'h',
      keyring: JSON.stringify(kr.json),
    },
  });
  const body = registered.json<{ token: string; agent: { id: string } }>();
  return {
    owner,
    vaultId,
    token: body.token,
    agentId: body.agent.id,
    keys: kr.keys,
    keyringId: kr.json.id,
  };
}
