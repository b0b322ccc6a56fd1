/**
 * @module commands/restore-request
 * `coffer restore-request POINT --agent A --target DIR`: asks the vault for a restore on an
 * agent's machine; its daemon writes the files there with its stored keys.
 */
import type { ConflictMode } from '@coffer/api';
import { resolvePoint } from '@coffer/agent';
import { CofferError } from '@coffer/core';
import { printJson, printLines } from '../output.js';
import { findAgent, withScope, type ScopeOptions } from '../scope.js';
import { followJob } from './job-follow.js';

export interface RestoreRequestOptions extends ScopeOptions {
  agent: string;
  target: string;
  path: string[];
  conflict: string;
  item?: string;
  wait?: boolean;
  json?: boolean;
}

const MODES = ['overwrite', 'skip', 'keep-both'];

/** Queues a restore on an agent. */
export async function restoreRequest(
  pointSpec: string,
  options: RestoreRequestOptions,
): Promise<number> {
  if (!MODES.includes(options.conflict)) {
    throw new CofferError(
      'USAGE',
      `--conflict ${options.conflict}: use overwrite, skip or keep-both`,
    );
  }
  if (!options.target.startsWith('/')) {
    throw new CofferError(
      'USAGE',
      `--target ${options.target}: give an absolute directory on the agent's machine, such as /srv/restored`,
    );
  }
  return withScope(options, async (scope) => {
    const agentId = await findAgent(scope, options.agent);
    const { points } = await scope.client.points(agentId, options.item);
    const point = resolvePoint(points, pointSpec);
    const job = await scope.client.requestRestore(agentId, {
      point: point.id,
      target: options.target,
      conflict: options.conflict as ConflictMode,
      ...(options.path.length > 0 ? { paths: options.path } : {}),
    });
    if (!options.wait) {
      if (options.json) printJson(job);
      else
        printLines(
          `Queued restore job ${job.id}: point ${point.id.slice(0, 12)} to ${options.target} on agent ${agentId}.`,
          `Follow it with: npx coffer job ${job.id} --follow`,
        );
      return 0;
    }
    if (!options.json) printLines(`Queued restore job ${job.id} on agent ${agentId}.`);
    return followJob(scope.client, job.id, options.json);
  });
}
