import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPgDatabase, type TestDb } from '../../cli/test/e2e/harness.js';
import { openMetadataDb, type MetadataDb } from '../src/db/connect.js';

let testDb: TestDb;
let meta: MetadataDb;

beforeAll(async () => {
  testDb = await createPgDatabase();
  meta = await openMetadataDb(testDb.url!);
});

afterAll(async () => {
  await meta?.close();
  await testDb?.drop();
});

it('survives PostgreSQL closing its idle connections (a restart, an admin command)', async () => {
  await Promise.all([1, 2, 3].map(() => meta.db.selectFrom('tenants').selectAll().execute()));
  const admin = new pg.Client({ connectionString: testDb.url });
  await admin.connect();
  const killed = await admin.query(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
  await admin.end();
  expect(killed.rowCount).toBeGreaterThan(0);
  // Give the pool's idle clients time to see their connections end.
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(await meta.db.selectFrom('tenants').selectAll().execute()).toEqual([]);
});
