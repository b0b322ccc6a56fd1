/**
 * @module commands/expire
 * `coffer expire VAULT [--wait]`: runs the vault's expiry now (it also runs on its own every
 * hour): each item's policy decides which points to keep, the others are soft-deleted, and
 * points past their soft-delete period are purged.
 */
import type { ExpireResult } from '@coffer/api';
import { printJson, printLines } from '../output.js';
import { withScope, type ScopeOptions } from '../scope.js';
import { followJob } from './job-follow.js';

export interface ExpireOptions extends ScopeOptions {
  wait?: boolean;
  json?: boolean;
}

/** Queues an expire job of the vault, and with --wait follows it. */
export async function expire(vault: string | undefined, options: ExpireOptions): Promise<number> {
  return withScope({ ...options, ...(vault ? { vault } : {}) }, async (scope) => {
    const { job } = await scope.client.expireNow(scope.vaultId);
    if (!options.wait) {
      if (options.json) printJson({ job });
      else
        printLines(
          `Queued expire job ${job.id}; follow it with: npx coffer job ${job.id} --follow`,
        );
      return 0;
    }
    const status = await followJob(scope.client, job.id, options.json);
    if (!options.json) {
      const done = await scope.client.job(job.id);
      const result = done.result as ExpireResult | undefined;
      if (result) {
        printLines(
          `Expired ${result.expired} point(s) of ${result.items} item(s); purged ${result.purged}.`,
        );
      }
    }
    return status;
  });
}
