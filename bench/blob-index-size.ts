/**
 * What the vault's blob index costs per blob, before (migrations 0001–0006: hex text ids, the
 * pack's name and the keyring's id on every row) and after migration 0007 (binary ids, integer
 * keyring and pack references, WITHOUT ROWID on SQLite), on SQLite and PostgreSQL; and how long
 * the lookup an agent's backup starts with (every id it knows, "which of these are stored?")
 * and a full known-ids stream take. Run with
 * `node --conditions=@coffer/source --import tsx bench/blob-index-size.ts` (not part of npm test);
 * BENCH_BLOBS sets the number of blobs (default 1,000,000), BENCH_ROUNDS the rounds of query
 * timing (default 3), BENCH_DIALECTS=sqlite skips PostgreSQL.
 *
 * Rows are what a small-files backup makes: random 32-byte ids, 1,000 per pack, one in eleven a
 * tree listing ten ids (refs, 320 bytes). Three layouts per database: the old schema written
 * the way the old vault wrote it (random id order, refs included), the new one written by the
 * new vault (random order, through blob-index/insertPack; no refs since migration 0011, the
 * footers hold them), and the old one converted by the migrations (0007 copies in key order, so
 * its B-trees come out full; 0011 drops the refs).
 */
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  insertPack,
  knownIds,
  lookup,
  type BlobEntry,
} from '../packages/vault/src/blob-index/index.js';
// Installs the BIGINT parser the vault uses.
import '../packages/vault/src/db/connect.js';
import { migrations, type Dialect } from '../packages/vault/src/db/migrations.js';
import type { Database } from '../packages/vault/src/db/schema.js';

const BLOBS = Number(process.env.BENCH_BLOBS ?? 1_000_000);
const DIALECTS = (process.env.BENCH_DIALECTS ?? 'sqlite,postgres').split(',') as Dialect[];
const PG_ADMIN = process.env.COFFER_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PER_PACK = 1000;
const KEYRING = 'kr_0123456789abcdef';
/** The old exists route's batch. */
const OLD_BATCH = 400;

interface Blob {
  id: Buffer;
  type: number;
  refs: Buffer | null;
}

/** The synthetic index: packs of PER_PACK blobs, in upload (random id) order. */
function makeBlobs(): Blob[] {
  const blobs: Blob[] = [];
  for (let i = 0; i < BLOBS; i++) {
    const tree = i % 11 === 10;
    blobs.push({ id: randomBytes(32), type: tree ? 2 : 1, refs: tree ? randomBytes(320) : null });
  }
  return blobs;
}

const packName = (p: number): string => p.toString(16).padStart(64, '0');

interface OldDb {
  packs: {
    keyring_id: string;
    name: string;
    size: number;
    blobs: number;
    created_at: number;
  };
  blobs: {
    keyring_id: string;
    id: string;
    pack: string;
    offset: number;
    length: number;
    type: number;
    refs: Buffer | null;
  };
}

interface Target {
  db: Kysely<Database>;
  /** Bytes the blob index takes (tables and their indexes), after a checkpoint. */
  size(): Promise<{ index: number; file?: number }>;
  close(): Promise<void>;
}

async function sqliteTarget(dir: string, name: string): Promise<Target> {
  const path = join(dir, `${name}.sqlite`);
  const sqlite = new BetterSqlite3(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return {
    db,
    async size() {
      sqlite.pragma('wal_checkpoint(TRUNCATE)');
      const rows = sqlite
        .prepare<[], { name: string; bytes: number }>(
          'SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name',
        )
        .all();
      const index = rows
        .filter((r) =>
          /^(blobs|packs|keyring_refs|sqlite_autoindex_(blobs|packs|keyring_refs))/.test(r.name),
        )
        .reduce((sum, r) => sum + r.bytes, 0);
      return { index, file: (await stat(path)).size };
    },
    close: () => db.destroy(),
  };
}

async function pgTarget(name: string): Promise<Target> {
  const database = `coffer_bench_${name}_${process.pid}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${database}`);
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const url = new URL(PG_ADMIN);
  url.pathname = `/${database}`;
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url.toString() }) }),
  });
  return {
    db,
    async size() {
      // Statistics, as autovacuum would gather them on a live vault: without them the old
      // schema's join is planned as a scan.
      await sql`ANALYZE`.execute(db);
      await sql`CHECKPOINT`.execute(db);
      const { rows } = await sql<{ bytes: string }>`
        SELECT sum(pg_total_relation_size(c.oid))::text AS bytes FROM pg_class c
        WHERE c.relkind = 'r' AND c.relname IN ('blobs', 'packs', 'keyring_refs')`.execute(db);
      return { index: Number(rows[0]!.bytes) };
    },
    async close() {
      await db.destroy();
      const c = new pg.Client({ connectionString: PG_ADMIN });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function migrateTo(db: Kysely<Database>, dialect: Dialect, to?: string): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(migrations(dialect)) },
    allowUnorderedMigrations: true,
  });
  const { error } =
    to === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(to);
  if (error !== undefined) throw error;
}

async function addKeyring(db: Kysely<Database>): Promise<void> {
  await db
    .insertInto('keyrings')
    .values({
      id: KEYRING,
      vault_id: 'vt_0123456789abcdef',
      json: '{}',
      created_at: 1,
      join_key: null,
    })
    .execute();
}

/** Writes the index as the vault before 0007 did (routes/backup.ts at that version). */
async function writeOld(db: Kysely<Database>, blobs: Blob[]): Promise<void> {
  const old = db as unknown as Kysely<OldDb>;
  for (let p = 0; p * PER_PACK < blobs.length; p++) {
    const pack = blobs.slice(p * PER_PACK, (p + 1) * PER_PACK);
    await old.transaction().execute(async (trx) => {
      await trx
        .insertInto('packs')
        .values({
          keyring_id: KEYRING,
          name: packName(p),
          size: 1 << 24,
          blobs: pack.length,
          created_at: p,
        })
        .execute();
      for (let i = 0; i < pack.length; i += OLD_BATCH) {
        await trx
          .insertInto('blobs')
          .values(
            pack.slice(i, i + OLD_BATCH).map((b, j) => ({
              keyring_id: KEYRING,
              id: b.id.toString('hex'),
              pack: packName(p),
              offset: (i + j) * 4096,
              length: 4096,
              type: b.type,
              refs: b.refs,
            })),
          )
          .execute();
      }
    });
  }
}

/** Writes the index through the new module, as the vault after 0007 does. */
async function writeNew(db: Kysely<Database>, blobs: Blob[]): Promise<void> {
  for (let p = 0; p * PER_PACK < blobs.length; p++) {
    const entries: BlobEntry[] = blobs.slice(p * PER_PACK, (p + 1) * PER_PACK).map((b, j) => ({
      id: b.id.toString('hex'),
      offset: j * 4096,
      length: 4096,
      type: b.type,
    }));
    await insertPack(db, KEYRING, { name: packName(p), size: 1 << 24 }, entries, { now: p });
  }
}

/** The old exists route's query for every id, as at the start of a backup. */
async function oldExists(db: Kysely<Database>, ids: string[]): Promise<number> {
  const old = db as unknown as Kysely<OldDb & { packs: { state: string } }>;
  let found = 0;
  for (let i = 0; i < ids.length; i += OLD_BATCH) {
    const rows = await old
      .selectFrom('blobs')
      .innerJoin('packs', (join) =>
        join
          .onRef('packs.keyring_id', '=', 'blobs.keyring_id')
          .onRef('packs.name', '=', 'blobs.pack'),
      )
      .select(['blobs.id', 'blobs.pack', 'packs.size'])
      .where('blobs.keyring_id', '=', KEYRING)
      .where('blobs.id', 'in', ids.slice(i, i + OLD_BATCH))
      .where('packs.state', '=', 'ok')
      .execute();
    found += rows.length;
  }
  return found;
}

/** Every known id of the old schema, streamed by key range like knownIds. */
async function oldKnownIds(db: Kysely<Database>): Promise<number> {
  const old = db as unknown as Kysely<OldDb & { packs: { state: string } }>;
  let count = 0;
  let after = '';
  for (;;) {
    const rows = await old
      .selectFrom('blobs')
      .innerJoin('packs', (join) =>
        join
          .onRef('packs.keyring_id', '=', 'blobs.keyring_id')
          .onRef('packs.name', '=', 'blobs.pack'),
      )
      .select('blobs.id')
      .where('blobs.keyring_id', '=', KEYRING)
      .where('blobs.id', '>', after)
      .where('packs.state', '=', 'ok')
      .orderBy('blobs.id')
      .limit(10_000)
      .execute();
    count += rows.length;
    if (rows.length < 10_000) return count;
    after = rows[rows.length - 1]!.id;
  }
}

async function newKnownIds(db: Kysely<Database>): Promise<number> {
  let count = 0;
  for await (const chunk of knownIds(db, KEYRING)) count += chunk.length / 32;
  return count;
}

async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const start = process.hrtime.bigint();
  const value = await run();
  return [value, Number(process.hrtime.bigint() - start) / 1e9];
}

function shuffled<T>(items: T[]): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface Row {
  dialect: Dialect;
  layout: string;
  bytesPerBlob: number;
  fileBytesPerBlob?: number;
  writeSeconds: number;
  /** Medians over ROUNDS, taken alternately with the other layout's. */
  existsSeconds: number;
  knownIdsSeconds: number;
}

const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[xs.length >> 1]!;
const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** Times the start-of-backup lookup and the known-ids stream of `schema` once. */
async function queryOnce(
  target: Target,
  schema: 'old' | 'new',
  queryIds: string[],
): Promise<[number, number]> {
  const [found, exists] = await timed(() =>
    schema === 'old'
      ? oldExists(target.db, queryIds)
      : lookup(target.db, KEYRING, queryIds).then((r) => r.length),
  );
  const [known, stream] = await timed(() =>
    schema === 'old' ? oldKnownIds(target.db) : newKnownIds(target.db),
  );
  if (found !== BLOBS || known !== BLOBS) {
    throw new Error(`${schema}: found ${found}, known ${known} of ${BLOBS}`);
  }
  return [exists, stream];
}

async function main(): Promise<void> {
  const blobs = makeBlobs();
  const queryIds = shuffled(blobs.map((b) => b.id.toString('hex')));
  const dir = await mkdtemp(join(tmpdir(), 'coffer-blob-index-'));
  const results: Row[] = [];
  try {
    for (const dialect of DIALECTS) {
      const open = (name: string) =>
        dialect === 'sqlite' ? sqliteTarget(dir, name) : pgTarget(name);
      const row = async (
        layout: string,
        target: Target,
        writeSeconds: number,
        times: [number, number][],
      ): Promise<void> => {
        const { index, file } = await target.size();
        const r: Row = {
          dialect,
          layout,
          bytesPerBlob: Math.round(index / BLOBS),
          ...(file === undefined ? {} : { fileBytesPerBlob: Math.round(file / BLOBS) }),
          writeSeconds: round(writeSeconds, 1),
          existsSeconds: round(median(times.map((t) => t[0])), 2),
          knownIdsSeconds: round(median(times.map((t) => t[1])), 2),
        };
        results.push(r);
        console.log(JSON.stringify({ ...r, rounds: times }));
      };

      const old = await open('old');
      await migrateTo(old.db, dialect, '0006_audit_and_alerts');
      await addKeyring(old.db);
      const [, oldWrite] = await timed(() => writeOld(old.db, blobs));
      const fresh = await open('new');
      await migrateTo(fresh.db, dialect);
      await addKeyring(fresh.db);
      const [, newWrite] = await timed(() => writeNew(fresh.db, blobs));
      // Sizes first (they analyze and checkpoint), then the two layouts' queries in turn, so
      // that a change in the machine's load hits both alike.
      await old.size();
      await fresh.size();
      const oldTimes: [number, number][] = [];
      const newTimes: [number, number][] = [];
      for (let r = 0; r < ROUNDS; r++) {
        oldTimes.push(await queryOnce(old, 'old', queryIds));
        newTimes.push(await queryOnce(fresh, 'new', queryIds));
      }
      await row('before 0007, written by uploads', old, oldWrite, oldTimes);
      await row('0011, written by uploads', fresh, newWrite, newTimes);
      await fresh.close();
      const [, migrateSeconds] = await timed(() => migrateTo(old.db, dialect));
      await row('converted by the migrations (0007–0011)', old, migrateSeconds, [
        await queryOnce(old, 'new', queryIds),
      ]);
      await old.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  console.log(
    `\n${BLOBS} blobs (one in eleven a tree with 320 bytes of refs), ${PER_PACK} per pack; ` +
      `query times are medians of ${ROUNDS} alternating rounds (the migrated layout: one)`,
  );
  console.log(
    '| database | layout | bytes per blob | write (or migrate) s | exists lookup of all ids s | known-ids stream s |',
  );
  console.log('| --- | --- | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const bytes =
      r.fileBytesPerBlob === undefined
        ? `${r.bytesPerBlob}`
        : `${r.bytesPerBlob} (file ${r.fileBytesPerBlob})`;
    console.log(
      `| ${r.dialect} | ${r.layout} | ${bytes} | ${r.writeSeconds} | ${r.existsSeconds} | ${r.knownIdsSeconds} |`,
    );
  }
}

await main();
