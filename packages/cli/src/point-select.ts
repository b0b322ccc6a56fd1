/**
 * @module point-select
 * Lists an agent's recovery points for the data commands, and says so when an --item is
 * unknown rather than reporting an empty list.
 */
import type { Point } from '@coffer/api';
import { resolvePoint, type VaultClient } from '@coffer/agent';
import { CofferError } from '@coffer/core';

/** The agent's points, oldest first, of `item` when given (which must have points). */
export async function listPoints(
  client: VaultClient,
  agentId: string,
  item?: string,
): Promise<Point[]> {
  const { points } = await client.points(agentId, item);
  if (item === undefined || points.length > 0) return points;
  const items = [...new Set((await client.points(agentId)).points.map((p) => p.item))].sort();
  throw new CofferError(
    'NOT_FOUND',
    items.length > 0
      ? `no item ${item} here; the items with recovery points are: ${items.join(', ')}`
      : `no item ${item} here: there are no recovery points yet ('coffer backup PATH --item ${item}')`,
  );
}

/** The point `spec` (id, unique prefix or "latest") names, among those of `item`. */
export async function selectPoint(
  client: VaultClient,
  agentId: string,
  spec: string,
  item?: string,
): Promise<Point> {
  return resolvePoint(await listPoints(client, agentId, item), spec);
}
