import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql, type Generated } from 'kysely';
import { describe, expect, it } from 'vitest';
import { cacheStatements } from '../src/db/statement-cache.js';

function database(): BetterSqlite3.Database {
  const db = new BetterSqlite3(':memory:');
  cacheStatements(db);
  db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)');
  return db;
}

describe('the statement cache', () => {
  it('prepares a statement once and hands it back for the same SQL', () => {
    const db = database();
    const first = db.prepare('SELECT v FROM t WHERE k = ?');
    expect(db.prepare('SELECT v FROM t WHERE k = ?')).toBe(first);
    expect(db.prepare('SELECT k FROM t WHERE v = ?')).not.toBe(first);
  });

  it('makes a new statement while the cached one is still iterating', () => {
    const db = database();
    db.prepare('INSERT INTO t (v) VALUES (?), (?)').run('a', 'b');
    const select = db.prepare('SELECT v FROM t ORDER BY k');
    const rows = select.iterate();
    expect((rows.next().value as { v: string }).v).toBe('a');
    const other = db.prepare('SELECT v FROM t ORDER BY k');
    expect(other).not.toBe(select);
    expect(other.all()).toEqual([{ v: 'a' }, { v: 'b' }]);
    expect((rows.next().value as { v: string }).v).toBe('b');
  });

  it('keeps a bounded number of statements, dropping the least recently used', () => {
    const db = database();
    const used = db.prepare('SELECT 0');
    const unused = db.prepare('SELECT 1');
    for (let i = 2; i <= 300; i++) {
      db.prepare(`SELECT ${i}`);
      if (i % 100 === 0) expect(db.prepare('SELECT 0')).toBe(used);
    }
    expect(db.prepare('SELECT 0')).toBe(used);
    expect(db.prepare('SELECT 1')).not.toBe(unused);
  });

  it('gives Kysely the right rows after the schema changes under a cached statement', async () => {
    const db = database();
    const k = new Kysely<{ t: { k: Generated<number>; v: string } }>({
      dialect: new SqliteDialect({ database: db }),
    });
    await k.insertInto('t').values({ v: 'x' }).execute();
    const read = () => k.selectFrom('t').selectAll().execute();
    expect(await read()).toEqual([{ k: 1, v: 'x' }]);
    await sql`ALTER TABLE t ADD COLUMN w TEXT DEFAULT 'y'`.execute(k);
    expect(await read()).toEqual([{ k: 1, v: 'x', w: 'y' }]);
    await k.destroy();
  });
});
