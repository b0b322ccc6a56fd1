/**
 * @module commands/point-delete
 * `coffer point delete ID` and `coffer point undelete ID`: soft-delete a recovery point (hidden
 * from listings and restores, restorable until its purge date) or bring it back. A tenant user
 * with the write role; an immutable vault refuses deleting a point before its expiry.
 */
import type { Point } from '@coffer/api';
import { CofferError } from '@coffer/core';
import { printJson, printLines } from '../output.js';
import { withScope, type Scope, type ScopeOptions } from '../scope.js';

export interface PointDeleteOptions extends ScopeOptions {
  json?: boolean;
}

/** The full id of `spec` (an id or a unique prefix of at least 8 digits) among `points`. */
function resolveId(spec: string, points: Point[], what: string): string {
  if (/^[0-9a-f]{64}$/.test(spec)) return spec;
  if (!/^[0-9a-f]{8,63}$/.test(spec)) {
    throw new CofferError(
      'USAGE',
      `${spec} is not a point id (64 hex digits, or 8 or more of them)`,
    );
  }
  const found = [...new Set(points.filter((p) => p.id.startsWith(spec)).map((p) => p.id))];
  if (found.length === 1) return found[0]!;
  throw new CofferError(
    found.length === 0 ? 'NOT_FOUND' : 'USAGE',
    found.length === 0
      ? `no ${what} recovery point starts with ${spec}`
      : `${found.length} ${what} points start with ${spec}; give more digits`,
  );
}

async function pointId(scope: Scope, spec: string, deleted: boolean): Promise<string> {
  if (/^[0-9a-f]{64}$/.test(spec) || scope.as !== 'user') return spec;
  const { points } = deleted
    ? await scope.client.deletedVaultPoints(scope.vaultId)
    : await scope.client.listVaultPoints(scope.vaultId);
  return resolveId(spec, points, deleted ? 'deleted' : 'live');
}

/** `coffer point delete ID`. */
export async function pointDelete(spec: string, options: PointDeleteOptions): Promise<number> {
  return withScope(options, async (scope) => {
    const id = await pointId(scope, spec, false);
    const point = await scope.client.deletePoint(scope.vaultId, id);
    if (options.json) printJson({ point });
    else
      printLines(
        `Deleted recovery point ${point.id.slice(0, 12)} of ${point.item}; it can be brought back until ${point.purgeAt}:`,
        `  npx coffer point undelete ${point.id.slice(0, 12)}`,
      );
    return 0;
  });
}

/** `coffer point undelete ID`. */
export async function pointUndelete(spec: string, options: PointDeleteOptions): Promise<number> {
  return withScope(options, async (scope) => {
    const id = await pointId(scope, spec, true);
    const point = await scope.client.undeletePoint(scope.vaultId, id);
    if (options.json) printJson({ point });
    else printLines(`Recovery point ${point.id.slice(0, 12)} of ${point.item} is back.`);
    return 0;
  });
}
