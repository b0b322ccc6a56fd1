/**
 * @module history/retention-change
 * A change of the retention that applies to existing points (a policy edited, an item moved to
 * another policy): refused on an immutable vault when it may expire points sooner, and raised
 * as a critical alert otherwise.
 */
import { ALERT_KINDS, type PolicySpec } from '@coffer/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { raiseAlert } from '../alerts/raise.js';
import type { Database } from '../db/schema.js';
import { assertMutable, retentionShortening } from './immutability.js';

/**
 * Checks replacing retention `before` with `after` for `what` (e.g. `policy nightly`) in vault
 * `vaultId`. Resolves to undefined when nothing is shortened, else to the function that raises
 * the alert in the change's transaction; throws IMMUTABLE on an immutable vault.
 */
export async function checkRetentionChange(
  app: FastifyInstance,
  request: FastifyRequest,
  vaultId: string,
  before: PolicySpec,
  after: PolicySpec,
  what: string,
): Promise<((trx: Kysely<Database>) => Promise<void>) | undefined> {
  const why = retentionShortening(before, after);
  if (why === undefined) return undefined;
  const vault = await app.vault.db
    .selectFrom('vaults')
    .selectAll()
    .where('id', '=', vaultId)
    .executeTakeFirstOrThrow();
  assertMutable(vault, `shorten the retention of ${what} (${why})`);
  const p = request.principal;
  const by = p?.kind === 'user' || p?.kind === 'agent' ? `token ${p.tokenId}` : 'the service admin';
  return async (trx) => {
    await raiseAlert(
      app.vault,
      {
        tenantId: vault.tenant_id,
        vaultId: vault.id,
        kind: ALERT_KINDS.retentionShortened,
        subject: what,
        severity: 'critical',
        message: `the retention of ${what} in vault ${vault.name} was shortened by ${by}: ${why}; points may expire sooner`,
      },
      trx,
    );
  };
}
