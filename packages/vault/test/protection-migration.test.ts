import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrations } from '../src/db/migrations.js';
import type { Database } from '../src/db/schema.js';

describe('migration 0005 (protection)', () => {
  it('turns every (agent, item) of existing points into an item, and points refer to it', async () => {
    const db = new Kysely<Database>({
      dialect: new SqliteDialect({ database: new BetterSqlite3(':memory:') }),
    });
    const migrator = new Migrator({
      db,
      provider: { getMigrations: () => Promise.resolve(migrations('sqlite')) },
    });
    expect((await migrator.migrateTo('0001_initial')).error).toBeUndefined();
    const point = (id: string, agent: string, item: string, at: number) =>
      db
        .insertInto('points')
        .values({
          id: id.repeat(64),
          vault_id: 'vt_0000000000000001',
          agent_id: agent,
          keyring_id: 'k',
          item,
          parent: null,
          hostname: 'h',
          start_time: at,
          end_time: at,
          created_at: at,
          stats: '{}',
        })
        .execute();
    await point('a', 'ag_1', 'default', 100);
    await point('b', 'ag_1', 'default', 200);
    await point('c', 'ag_1', 'etc', 300);
    await point('d', 'ag_2', 'default', 400);
    expect((await migrator.migrateToLatest()).error).toBeUndefined();
    const items = await db
      .selectFrom('items')
      .selectAll()
      .orderBy('agent_id')
      .orderBy('name')
      .execute();
    expect(items.map((i) => [i.agent_id, i.name, i.policy_id, i.created_at])).toEqual([
      ['ag_1', 'default', null, 100],
      ['ag_1', 'etc', null, 300],
      ['ag_2', 'default', null, 400],
    ]);
    const points = await db.selectFrom('points').select(['id', 'item_id']).orderBy('id').execute();
    const byKey = new Map(items.map((i) => [`${i.agent_id}/${i.name}`, i.id]));
    expect(points.map((p) => p.item_id)).toEqual([
      byKey.get('ag_1/default'),
      byKey.get('ag_1/default'),
      byKey.get('ag_1/etc'),
      byKey.get('ag_2/default'),
    ]);
    await db.destroy();
  });
});
