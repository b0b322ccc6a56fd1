/**
 * @module audit/verify
 * Recomputes audit chains and names the first entry that does not check out: edited (its hash
 * does not match its content), deleted (a gap in the sequence, or entries missing at the end
 * according to the chain head), or inserted (entries past the head).
 */
import type { AuditChainReport, AuditProblem } from '@coffer/api';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { GENESIS_HASH, entryHash } from './chain.js';

const PAGE = 1000;

function describe(seq: number, at: number, action: string): string {
  return `entry #${seq} (${new Date(at).toISOString()}, ${action})`;
}

/**
 * Verifies one chain up to the head read at the start (entries appended meanwhile are left for
 * the next run). Reads in pages, so memory stays bounded however long the chain is.
 */
export async function verifyChain(db: Kysely<Database>, chain: string): Promise<AuditChainReport> {
  const stored = await db
    .selectFrom('audit_chains')
    .select(['seq', 'hash'])
    .where('chain', '=', chain)
    .executeTakeFirst();
  const head = stored ?? { seq: 0, hash: GENESIS_HASH };
  let previousHash = GENESIS_HASH;
  let expected = 1;
  let entries = 0;
  const report = (problem?: AuditProblem): AuditChainReport => ({
    chain,
    entries,
    headSeq: head.seq,
    headHash: head.hash,
    ok: problem === undefined,
    ...(problem ? { problem } : {}),
  });
  pages: for (;;) {
    // The page after the head is read too, to catch entries inserted past it.
    const rows = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('chain', '=', chain)
      .where('seq', '>=', expected)
      .orderBy('seq')
      .limit(PAGE)
      .execute();
    for (const row of rows) {
      if (row.seq > head.seq) {
        if (expected <= head.seq) break pages;
        if (!stored) {
          return report({
            seq: 0,
            kind: 'head',
            message: `the chain has entries but no head record: the head was deleted`,
          });
        }
        return report({
          seq: row.seq,
          kind: 'inserted',
          message: `${describe(row.seq, row.at, row.action)} lies past the chain head (#${head.seq}): it was inserted`,
        });
      }
      if (row.seq !== expected) {
        const missing = expected === row.seq - 1 ? `#${expected}` : `#${expected}–#${row.seq - 1}`;
        return report({
          seq: expected,
          kind: 'deleted',
          message: `entry ${missing} is missing before ${describe(row.seq, row.at, row.action)}: deleted`,
        });
      }
      const { hash, ...content } = row;
      if (entryHash(previousHash, content) !== hash) {
        return report({
          seq: row.seq,
          kind: 'edited',
          message: `${describe(row.seq, row.at, row.action)} does not match its hash: edited (or re-chained after an entry before it was removed or inserted)`,
        });
      }
      previousHash = hash;
      expected++;
      entries++;
    }
    if (rows.length < PAGE) break;
  }
  if (expected <= head.seq) {
    const missing = expected === head.seq ? `#${expected}` : `#${expected}–#${head.seq}`;
    return report({
      seq: expected,
      kind: 'deleted',
      message: `entry ${missing} is missing at the end of the chain (its head says #${head.seq}): deleted`,
    });
  }
  if (previousHash !== head.hash) {
    return report({
      seq: head.seq,
      kind: 'head',
      message: `the newest entry #${head.seq} does not match the chain head's hash: the entry or the head was rewritten`,
    });
  }
  return report();
}

/** Every chain there is: those with a head and those with entries (a deleted head shows). */
export async function listChains(db: Kysely<Database>): Promise<string[]> {
  const heads = await db.selectFrom('audit_chains').select('chain').execute();
  const logged = await db.selectFrom('audit_log').select('chain').distinct().execute();
  return [...new Set([...heads, ...logged].map((r) => r.chain))].sort();
}
