/**
 * @module db/statement-cache
 * Prepared SQLite statements kept for reuse. Kysely's SQLite driver prepares every query anew,
 * and SQLite parses and plans the same few statements (authenticate, find the agent, find the
 * pack, audit) for every request: on a many-files restore that cost more of the vault's CPU than
 * running them.
 */
import type BetterSqlite3 from 'better-sqlite3';

/** Distinct statements kept; batch queries with IN lists of every length come and go. */
const KEPT = 256;

/**
 * Makes `db.prepare` hand back the statement it made before for the same SQL, unless that one is
 * still iterating. A statement carries no state between runs that Kysely sets (it never calls
 * pluck, raw, expand or safeIntegers), and SQLite re-plans a statement whose schema changed.
 * @example cacheStatements(new BetterSqlite3(path));
 */
export function cacheStatements(db: BetterSqlite3.Database): void {
  const cache = new Map<string, BetterSqlite3.Statement>();
  const prepare = db.prepare.bind(db);
  db.prepare = ((source: string) => {
    const cached = cache.get(source);
    if (cached && !cached.busy) {
      // Kept in order of use, so the first key is the one to drop.
      cache.delete(source);
      cache.set(source, cached);
      return cached;
    }
    const made = prepare(source);
    if (!cached) {
      cache.set(source, made);
      if (cache.size > KEPT) cache.delete(cache.keys().next().value!);
    }
    return made;
  }) as typeof db.prepare;
}
