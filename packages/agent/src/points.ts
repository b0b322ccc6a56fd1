/**
 * @module points
 * Picks a recovery point by id, unique id prefix or "latest".
 */
import type { Point } from '@coffer/api';
import { CofferError } from '@coffer/core';

/** The point `spec` names among `points` (oldest first). */
export function resolvePoint(points: readonly Point[], spec: string): Point {
  if (spec === 'latest') {
    const latest = points.at(-1);
    if (!latest) throw new CofferError('NOT_FOUND', 'there are no recovery points yet');
    return latest;
  }
  if (!/^[0-9a-f]{1,64}$/.test(spec)) {
    throw new CofferError('USAGE', `${spec}: a point is an id, a unique id prefix, or "latest"`);
  }
  const matches = points.filter((p) => p.id.startsWith(spec));
  if (matches.length === 0) throw new CofferError('NOT_FOUND', `no recovery point ${spec}`);
  if (matches.length > 1) {
    throw new CofferError('USAGE', `${spec} matches ${matches.length} points; give more digits`);
  }
  return matches[0]!;
}
