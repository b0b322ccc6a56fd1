/**
 * @module closure
 * Checks, without keys, that everything a recovery point needs is stored: the manifest, and
 * every blob reachable from it through the refs listed in pack footers (docs/format.md §5).
 */
import { ID_LENGTH } from '@coffer/core';
import type { Kysely } from 'kysely';
import type { Database } from './db/schema.js';

const BATCH = 500;

export interface ClosureResult {
  /** Ids that are referred to but not stored (at most `limit`). */
  missing: string[];
  /** Trees and the manifest found complete; the caller marks them closed with the point. */
  walked: string[];
}

function splitRefs(refs: Buffer | null): string[] {
  if (!refs) return [];
  const out: string[] = [];
  for (let i = 0; i + ID_LENGTH <= refs.length; i += ID_LENGTH) {
    out.push(refs.subarray(i, i + ID_LENGTH).toString('hex'));
  }
  return out;
}

/**
 * Walks from `manifestId` breadth first in batches. Subtrees already marked closed by an earlier
 * commit are not walked again, so an incremental backup costs only its new trees.
 */
export async function checkClosure(
  db: Kysely<Database>,
  keyringId: string,
  manifestId: string,
  limit = 100,
): Promise<ClosureResult> {
  const missing: string[] = [];
  const walked: string[] = [];
  const seen = new Set<string>([manifestId]);
  let frontier = [manifestId];
  while (frontier.length > 0 && missing.length < limit) {
    const next: string[] = [];
    for (let i = 0; i < frontier.length; i += BATCH) {
      const batch = frontier.slice(i, i + BATCH);
      const rows = await db
        .selectFrom('blobs')
        .select(['id', 'type', 'refs', 'closed'])
        .where('keyring_id', '=', keyringId)
        .where('id', 'in', batch)
        .execute();
      const found = new Map(rows.map((r) => [r.id, r]));
      for (const id of batch) {
        const row = found.get(id);
        if (!row) {
          if (missing.length < limit) missing.push(id);
          continue;
        }
        if (row.type === 1 || row.closed === 1) continue;
        walked.push(id);
        for (const ref of splitRefs(row.refs)) {
          if (!seen.has(ref)) {
            seen.add(ref);
            next.push(ref);
          }
        }
      }
    }
    frontier = next;
  }
  return { missing, walked };
}
