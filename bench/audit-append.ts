/**
 * What the audit log costs a state-changing call: the time of one append (a transaction that
 * locks the chain head, inserts the entry and moves the head) on SQLite (the embedded default,
 * synchronous=FULL) and PostgreSQL, one at a time and eight at once on one chain. Run with
 * `node --conditions=@coffer/source --import tsx bench/audit-append.ts` (not part of npm test).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { appendAudit, type AuditRecord } from '../packages/vault/src/audit/chain.js';
import { verifyChain } from '../packages/vault/src/audit/verify.js';
import { openMetadataDb, type MetadataDb } from '../packages/vault/src/db/connect.js';

const APPENDS = Number(process.env.BENCH_APPENDS ?? 2000);
const PG_ADMIN = process.env.COFFER_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

function record(i: number): AuditRecord {
  return {
    chain: 'tn_0123456789abcdef',
    at: Date.now(),
    actor_kind: 'agent',
    actor_token: 'tk_0123456789abcdef',
    actor_agent: 'ag_0123456789abcdef',
    actor_name: 'bench-host',
    method: 'PUT',
    route: '/v1/packs/:pack',
    action: 'pack.upload',
    vault_id: 'vt_0123456789abcdef',
    resource: JSON.stringify({ pack: i.toString(16).padStart(64, '0') }),
    address: '127.0.0.1',
    status: 200,
    error_code: null,
  };
}

async function measure(name: string, meta: MetadataDb): Promise<void> {
  let start = process.hrtime.bigint();
  for (let i = 0; i < APPENDS; i++) await appendAudit(meta, record(i));
  const serial = Number(process.hrtime.bigint() - start) / 1e6 / APPENDS;
  start = process.hrtime.bigint();
  let next = APPENDS;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < 2 * APPENDS) await appendAudit(meta, record(next++));
    }),
  );
  const parallel = Number(process.hrtime.bigint() - start) / 1e6 / APPENDS;
  start = process.hrtime.bigint();
  const report = await verifyChain(meta.db, 'tn_0123456789abcdef');
  const verify = Number(process.hrtime.bigint() - start) / 1e3 / report.entries;
  if (!report.ok) throw new Error(`${name}: chain does not verify: ${report.problem?.message}`);
  console.log(
    `${name}: ${serial.toFixed(2)} ms per append one at a time, ${parallel.toFixed(2)} ms per append with 8 at once; verify ${verify.toFixed(1)} µs per entry (${report.entries} entries)`,
  );
}

const dir = await mkdtemp(join(tmpdir(), 'coffer-audit-bench-'));
try {
  const sqlite = await openMetadataDb(`sqlite:${join(dir, 'metadata.sqlite')}`);
  await measure('sqlite', sqlite);
  await sqlite.close();
  const name = `coffer_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    const url = new URL(PG_ADMIN);
    url.pathname = `/${name}`;
    const postgres = await openMetadataDb(url.toString());
    await measure('postgres', postgres);
    await postgres.close();
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
