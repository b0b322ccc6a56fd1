/**
 * @module commands/protect-stop
 * `coffer protect stop ITEM [--delete-data]`: no more scheduled backups of the item; its points
 * are kept (no policy expires them) unless --delete-data soft-deletes them all, a critical
 * operation an immutable vault refuses.
 */
import { printJson, printLines } from '../output.js';
import { findItem, withScope, type ScopeOptions } from '../scope.js';

export interface ProtectStopOptions extends ScopeOptions {
  agent?: string;
  deleteData?: boolean;
  json?: boolean;
}

/** Stops an item's protection. */
export async function protectStop(spec: string, options: ProtectStopOptions): Promise<number> {
  return withScope(options, async (scope) => {
    const item = await findItem(scope, spec, options.agent);
    const result = await scope.client.stopProtection(item.id, options.deleteData === true);
    if (options.json) printJson(result);
    else
      printLines(
        `Stopped protection of ${item.name}: no more scheduled backups.`,
        options.deleteData
          ? `Deleted its ${result.pointsDeleted} recovery point(s); 'coffer points --deleted' lists them until they are purged.`
          : 'Its recovery points are kept until you delete them.',
      );
    return 0;
  });
}
