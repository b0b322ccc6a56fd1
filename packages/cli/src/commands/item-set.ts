/**
 * @module commands/item-set
 * `coffer item set ITEM --policy NAME | --no-policy`: gives an item another policy or none
 * (a tenant user with the write role; an agent may only give one to an item that has none).
 */
import { CofferError } from '@coffer/core';
import { printJson, printLines } from '../output.js';
import { findItem, withScope, type ScopeOptions } from '../scope.js';

export interface ItemSetOptions extends ScopeOptions {
  agent?: string;
  /** A policy name or id; false for --no-policy. */
  policy?: string | false;
  json?: boolean;
}

/** Changes an item's policy. */
export async function itemSet(spec: string, options: ItemSetOptions): Promise<number> {
  if (options.policy === undefined) {
    throw new CofferError('USAGE', 'say what to change: --policy NAME or --no-policy');
  }
  return withScope(options, async (scope) => {
    const item = await findItem(scope, spec, options.agent);
    const updated = await scope.client.setItemPolicy(item.id, options.policy || null);
    if (options.json) printJson(updated);
    else
      printLines(
        updated.policy
          ? `Item ${updated.name} now follows policy ${updated.policy}; next backup ${updated.nextRunAt}.`
          : `Item ${updated.name} has no policy now: no scheduled backups.`,
      );
    return 0;
  });
}
