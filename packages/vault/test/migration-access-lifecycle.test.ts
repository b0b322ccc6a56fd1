import { sql, type Kysely } from 'kysely';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openMetadataDb } from '../src/db/connect.js';
import { initial } from '../src/db/migrations/0001-initial.js';
import { accessLifecycle, dedupeTokenNames } from '../src/db/migrations/0004-access-lifecycle.js';
import type { Dialect, MigrationContext } from '../src/db/migrations/context.js';
import type { Database } from '../src/db/schema.js';
import { migrationDb, type MigrationDb } from './migration-db.js';

describe('dedupeTokenNames', () => {
  it('keeps the first of each name and suffixes later ones with a free number', () => {
    const renamed = dedupeTokenNames([
      { id: 'a', name: 'ci' },
      { id: 'b', name: 'ci' },
      { id: 'c', name: 'ci (2)' },
      { id: 'd', name: 'x'.repeat(128) },
      { id: 'e', name: 'x'.repeat(128) },
    ]);
    expect(Object.fromEntries(renamed)).toEqual({ b: 'ci (3)', e: `${'x'.repeat(124)} (2)` });
  });
});

describe.each(['sqlite', 'postgres'] as const)('migration 0004 (%s)', (dialect: Dialect) => {
  let open: MigrationDb<Database> | undefined;
  let db: Kysely<Database> | undefined;

  afterEach(async () => {
    await open?.close();
  });

  it('renames duplicate user token names of a tenant, then keeps names unique', async () => {
    open = await migrationDb<Database>(dialect);
    ({ db } = open);
    const context: MigrationContext = {
      dialect,
      binary: dialect === 'postgres' ? 'bytea' : 'blob',
    };
    await initial(context).up(db as Kysely<unknown>);
    const token = (id: string, tenant: string | null, name: string, kind = 'user') => ({
      id,
      hash: id.padEnd(64, '0'),
      kind: kind as 'user',
      tenant_id: tenant,
      role: kind === 'user' ? 'owner' : null,
      agent_id: null,
      name,
      created_at: Number(id.slice(1)),
    });
    await db
      .insertInto('tokens')
      .values([
        token('t1', 'tn_a', 'ci'),
        token('t2', 'tn_a', 'ci'),
        token('t3', 'tn_a', 'ci (2)'),
        token('t4', 'tn_b', 'ci'),
        token('t5', 'tn_a', 'agent m', 'agent'),
        token('t6', 'tn_a', 'agent m', 'agent'),
      ])
      .execute();
    await accessLifecycle(context).up(db as Kysely<unknown>);

    const rows = await db.selectFrom('tokens').select(['id', 'name']).orderBy('id').execute();
    expect(rows.map((r) => r.name)).toEqual(['ci', 'ci (3)', 'ci (2)', 'ci', 'agent m', 'agent m']);
    await expect(
      db
        .insertInto('tokens')
        .values(token('t7', 'tn_a', 'ci'))
        .execute(),
    ).rejects.toThrow();
    // A revoked token's name is free again.
    await db.updateTable('tokens').set({ revoked_at: 1 }).where('id', '=', 't1').execute();
    await db
      .insertInto('tokens')
      .values(token('t8', 'tn_a', 'ci'))
      .execute();
  });
});

describe('migration order', () => {
  it('runs 0004 on a vault that already ran a later-numbered migration', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'coffer-migrate-'));
    const url = `sqlite:${join(dir, 'metadata.sqlite')}`;
    try {
      const first = await openMetadataDb(url);
      // As a vault migrated before 0004 existed: without its index, columns and record.
      for (const statement of [
        'DROP INDEX tokens_user_name',
        'DROP INDEX tokens_agent',
        'ALTER TABLE tokens DROP COLUMN expires_at',
        'ALTER TABLE tokens DROP COLUMN revoked_at',
        'ALTER TABLE agents DROP COLUMN removed_at',
        "DELETE FROM kysely_migration WHERE name = '0004_access_lifecycle'",
      ]) {
        await sql.raw(statement).execute(first.db);
      }
      await first.close();
      const again = await openMetadataDb(url);
      const rows = await again.db
        .selectFrom('tokens')
        .select(['expires_at', 'revoked_at'])
        .execute();
      expect(rows).toEqual([]);
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
