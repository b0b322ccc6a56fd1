/**
 * @module commands/points
 * `coffer points`: lists recovery points of this machine (or, with --agent, of a machine this
 * one was granted).
 */
import { agentConnection, type AgentOptions } from '../connect.js';
import { formatBytes, printJson, printLines } from '../output.js';
import { listPoints } from '../point-select.js';
import { findAgent, withScope } from '../scope.js';

export interface PointsOptions extends AgentOptions {
  item?: string;
  json?: boolean;
  /** Only soft-deleted points, with their purge dates. */
  deleted?: boolean;
  token?: string;
  vault?: string;
}

/** Lists points, oldest first. */
export async function points(options: PointsOptions): Promise<number> {
  if (options.deleted) return deletedPoints(options);
  const { client, sourceAgentId } = await agentConnection(options);
  try {
    const points = await listPoints(client, sourceAgentId, options.item);
    if (options.json) printJson({ points });
    else if (points.length === 0) printLines('No recovery points yet: coffer backup PATH...');
    else
      printLines(
        'ID            TIME                      ITEM        FILES     SIZE',
        ...points.map(
          (p) =>
            `${p.id.slice(0, 12)}  ${p.endTime.padEnd(24)}  ${p.item.padEnd(10)}  ${String(p.stats.files).padStart(7)}  ${formatBytes(p.stats.bytes).padStart(10)}`,
        ),
      );
    return 0;
  } finally {
    await client.close();
  }
}

/**
 * `coffer points --deleted`: soft-deleted points with their purge dates; a tenant user sees the
 * vault's, a machine (no token) its own (or, with --agent, a granted machine's).
 */
async function deletedPoints(options: PointsOptions): Promise<number> {
  return withScope(options, async (scope) => {
    const agent =
      scope.as === 'agent'
        ? (options.agent ?? scope.self)
        : options.agent
          ? await findAgent(scope, options.agent)
          : undefined;
    const { points } =
      scope.as === 'user' && agent === undefined
        ? await scope.client.deletedVaultPoints(scope.vaultId, options.item)
        : await scope.client.deletedPoints(agent!, options.item);
    if (options.json) printJson({ points });
    else if (points.length === 0) printLines('No deleted recovery points.');
    else
      printLines(
        'ID            ITEM        DELETED                   REASON              PURGED AFTER',
        ...points.map(
          (p) =>
            `${p.id.slice(0, 12)}  ${p.item.padEnd(10)}  ${(p.deletedAt ?? '').padEnd(24)}  ${(p.deleteReason ?? '').padEnd(18)}  ${p.purgeAt ?? ''}`,
        ),
      );
    return 0;
  });
}
