/**
 * An in-process vault for handler tests (fastify.inject): a real metadata database (SQLite in
 * memory, or the PostgreSQL URL given), a memory blob store, and a clock the test moves.
 */
import { MemoryBlobStore } from '@coffer/storage';
import type { FastifyInstance } from 'fastify';
import { openMetadataDb, type MetadataDb } from '../src/db/connect.js';
import { LifecycleRunner } from '../src/lifecycle/runner.js';
import { buildServer } from '../src/server.js';
import { hashSecret, newEntityId, newSecret } from '../src/secrets.js';

export interface InProcessVault {
  app: FastifyInstance;
  meta: MetadataDb;
  clock: { now: number };
  /** The service admin's token. */
  admin: string;
  close(): Promise<void>;
}

/** Builds a vault without background tasks (tests run them by hand). */
export async function makeVault(dbUrl = 'sqlite::memory:'): Promise<InProcessVault> {
  const meta = await openMetadataDb(dbUrl);
  const clock = { now: Date.now() };
  const app = await buildServer({
    context: {
      db: meta.db,
      dialect: meta.dialect,
      store: new MemoryBlobStore(),
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
    },
  };
}

/** The Authorization header of `token`. */
export const auth = (token: string) => ({ authorization: `Bearer ${token}` });
