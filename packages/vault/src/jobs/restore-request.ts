/**
 * @module jobs/restore-request
 * Checks a restore request before a job is made of it: an absolute target, no '..' in paths,
 * and a point in the agent's vault that the agent may read.
 */
import type { RestoreRequest } from '@coffer/api';
import type { Kysely } from 'kysely';
import type { AgentTable, Database, PointTable } from '../db/schema.js';
import { HttpError } from '../plugins/errors.js';

/**
 * The point `request` restores, if `agent` may restore it: its own, or one it was granted.
 * With `unattended` the point must also be in the agent's own keyring, the only one whose keys
 * the daemon holds.
 */
export async function checkRestoreRequest(
  db: Kysely<Database>,
  agent: AgentTable,
  request: RestoreRequest,
  unattended: boolean,
): Promise<PointTable> {
  if (!request.target.startsWith('/')) {
    throw new HttpError(
      'BAD_REQUEST',
      `the restore target must be an absolute directory on the agent's machine (such as /srv/restored), not ${request.target}`,
    );
  }
  for (const path of request.paths ?? []) {
    if (path.split('/').includes('..')) {
      throw new HttpError('BAD_REQUEST', `restore path ${path}: '..' is not allowed`);
    }
  }
  const point = await db
    .selectFrom('points')
    .selectAll()
    .where('id', '=', request.point)
    .where('vault_id', '=', agent.vault_id)
    // A soft-deleted point restores only after `coffer point undelete` (docs/history.md).
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  const granted =
    point && point.agent_id !== agent.id
      ? await db
          .selectFrom('grants')
          .select('agent_id')
          .where('agent_id', '=', point.agent_id)
          .where('grantee_id', '=', agent.id)
          .executeTakeFirst()
      : undefined;
  if (!point || (point.agent_id !== agent.id && !granted)) {
    throw new HttpError(
      'NOT_FOUND',
      `no recovery point ${request.point} that agent ${agent.id} may read`,
    );
  }
  if (unattended && point.keyring_id !== agent.keyring_id) {
    throw new HttpError(
      'BAD_REQUEST',
      `point ${request.point} is in another keyring than agent ${agent.id}'s, whose keys its daemon does not hold; restore it on that machine with 'coffer restore ${request.point} --agent ${point.agent_id}'`,
    );
  }
  return point;
}
