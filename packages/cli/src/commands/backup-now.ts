/**
 * @module commands/backup-now
 * `coffer backup-now ITEM`: asks the vault for a backup of an item now; the item's agent
 * daemon runs it. With --wait, follows it to its end.
 */
import { printJson, printLines } from '../output.js';
import { findItem, withScope, type ScopeOptions } from '../scope.js';
import { followJob } from './job-follow.js';

export interface BackupNowOptions extends ScopeOptions {
  agent?: string;
  wait?: boolean;
  json?: boolean;
}

/** Queues a backup of an item. */
export async function backupNow(spec: string, options: BackupNowOptions): Promise<number> {
  return withScope(options, async (scope) => {
    const item = await findItem(scope, spec, options.agent);
    const { job, alreadyRunning } = await scope.client.backupNow(item.id);
    if (!options.json || !options.wait) {
      if (options.json) printJson({ job, alreadyRunning });
      else if (alreadyRunning) {
        printLines(
          `A backup of ${item.name} is ${job.state} already (job ${job.id}); not starting another.`,
        );
      } else printLines(`Queued backup job ${job.id} of ${item.name} on agent ${item.agentId}.`);
    }
    if (!options.wait) {
      if (!options.json) printLines(`Follow it with: npx coffer job ${job.id} --follow`);
      return 0;
    }
    return followJob(scope.client, job.id, options.json);
  });
}
