/**
 * @module db/migrations/0004-access-lifecycle
 * Token expiry and revocation, removed agents, and user token names unique per tenant (among
 * tokens not revoked). Existing duplicate names get a " (2)", " (3)" … suffix, oldest first kept.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { MigrationContext } from './context.js';

/** The columns this migration reads, as they are before it runs. */
interface Before {
  tokens: { id: string; kind: string; tenant_id: string | null; name: string; created_at: number };
}

const NAME_MAX = 128;

/** Names for the tokens of one tenant: the first of each name kept, later ones suffixed. */
export function dedupeTokenNames(
  tokens: readonly { id: string; name: string }[],
): Map<string, string> {
  const taken = new Set(tokens.map((t) => t.name));
  const seen = new Set<string>();
  const renamed = new Map<string, string>();
  for (const token of tokens) {
    if (!seen.has(token.name)) {
      seen.add(token.name);
      continue;
    }
    for (let n = 2; ; n++) {
      const suffix = ` (${n})`;
      const candidate = token.name.slice(0, NAME_MAX - suffix.length) + suffix;
      if (!taken.has(candidate)) {
        taken.add(candidate);
        seen.add(candidate);
        renamed.set(token.id, candidate);
        break;
      }
    }
  }
  return renamed;
}

/** Adds expiry, revocation and agent removal. */
export function accessLifecycle(_context: MigrationContext): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('tokens').addColumn('expires_at', 'bigint').execute();
      await db.schema.alterTable('tokens').addColumn('revoked_at', 'bigint').execute();
      await db.schema.alterTable('agents').addColumn('removed_at', 'bigint').execute();

      const typed = db as unknown as Kysely<Before>;
      const users = await typed
        .selectFrom('tokens')
        .select(['id', 'tenant_id', 'name'])
        .where('kind', '=', 'user')
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      const byTenant = new Map<string, { id: string; name: string }[]>();
      for (const row of users) {
        const list = byTenant.get(row.tenant_id ?? '') ?? [];
        list.push(row);
        byTenant.set(row.tenant_id ?? '', list);
      }
      for (const tokens of byTenant.values()) {
        for (const [id, name] of dedupeTokenNames(tokens)) {
          await typed.updateTable('tokens').set({ name }).where('id', '=', id).execute();
        }
      }
      await db.schema
        .createIndex('tokens_user_name')
        .on('tokens')
        .columns(['tenant_id', 'name'])
        .unique()
        .where(sql.raw<boolean>("kind = 'user' and revoked_at is null"))
        .execute();
      await db.schema.createIndex('tokens_agent').on('tokens').column('agent_id').execute();
    },
  };
}
