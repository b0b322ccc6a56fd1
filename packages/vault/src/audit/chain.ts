/**
 * @module audit/chain
 * Appends to the hash-chained audit log. Each chain (a tenant, or `service`) is a sequence
 * 1, 2, 3… where every entry's hash covers the previous entry's hash, so an edited, inserted or
 * deleted entry breaks the chain (docs/audit.md gives the encoding).
 */
import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { VaultContext } from '../context.js';
import { relaxedCommit } from '../db/relaxed-commit.js';
import type { AuditLogTable, Database } from '../db/schema.js';

/** The chain of calls made without a tenant: the service admin's and unauthenticated ones. */
export const SERVICE_CHAIN = 'service';

/** The "previous hash" of a chain's first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** An entry before it is placed in its chain. */
export type AuditRecord = Omit<AuditLogTable, 'seq' | 'hash'>;

/**
 * The canonical encoding of an entry (everything but its hash): a JSON array of its fields in
 * a fixed order. Every field is a string, an integer or null, so the text is unambiguous.
 */
export function canonicalEntry(entry: Omit<AuditLogTable, 'hash'>): string {
  return JSON.stringify([
    'coffer-audit/1',
    entry.chain,
    entry.seq,
    entry.at,
    entry.actor_kind,
    entry.actor_token,
    entry.actor_agent,
    entry.actor_name,
    entry.method,
    entry.route,
    entry.action,
    entry.vault_id,
    entry.resource,
    entry.address,
    entry.status,
    entry.error_code,
  ]);
}

/** SHA-256(previous hash ‖ canonical encoding), hex. */
export function entryHash(previousHash: string, entry: Omit<AuditLogTable, 'hash'>): string {
  return createHash('sha256')
    .update(Buffer.from(previousHash, 'hex'))
    .update(canonicalEntry(entry), 'utf8')
    .digest('hex');
}

/**
 * Appends `record` to its chain and returns its seq. The chain's head row is locked for the
 * transaction (SELECT … FOR UPDATE on PostgreSQL; SQLite has one writer), so appends from
 * several vault instances serialize and the chain never forks. `relaxed`: the commit does not
 * wait for the disk (db/relaxed-commit), for entries of calls that changed nothing.
 */
export async function appendAudit(
  ctx: Pick<VaultContext, 'db' | 'dialect'>,
  record: AuditRecord,
  { relaxed = false }: { relaxed?: boolean } = {},
): Promise<number> {
  const append = async (trx: Transaction<Database>): Promise<number> => {
    let head = await lockHead(trx, ctx.dialect, record.chain);
    if (!head) {
      // A chain's first entry: its head row starts at the genesis hash (another instance may
      // have made it meanwhile, hence the conflict clause and the second look).
      await trx
        .insertInto('audit_chains')
        .values({ chain: record.chain, seq: 0, hash: GENESIS_HASH })
        .onConflict((oc) => oc.column('chain').doNothing())
        .execute();
      head = await lockHead(trx, ctx.dialect, record.chain);
      if (!head) throw new Error(`audit chain ${record.chain} has no head row`);
    }
    const entry = { ...record, seq: head.seq + 1 };
    const hash = entryHash(head.hash, entry);
    await trx
      .insertInto('audit_log')
      .values({ ...entry, hash })
      .execute();
    await trx
      .updateTable('audit_chains')
      .set({ seq: entry.seq, hash })
      .where('chain', '=', record.chain)
      .execute();
    return entry.seq;
  };
  return relaxed ? relaxedCommit(ctx, append) : ctx.db.transaction().execute(append);
}

async function lockHead(
  trx: Kysely<Database>,
  dialect: VaultContext['dialect'],
  chain: string,
): Promise<{ seq: number; hash: string } | undefined> {
  const query = trx.selectFrom('audit_chains').select(['seq', 'hash']).where('chain', '=', chain);
  return (dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirst();
}
