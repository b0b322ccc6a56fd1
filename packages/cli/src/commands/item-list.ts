/**
 * @module commands/item-list
 * `coffer items`: protected items with their policy, last backup, next run and health.
 */
import type { Item } from '@coffer/api';
import { printJson, printLines } from '../output.js';
import { findAgent, withScope, type ScopeOptions } from '../scope.js';

export interface ItemsOptions extends ScopeOptions {
  agent?: string;
  json?: boolean;
}

function when(iso: string | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';
}

function row(item: Item): string {
  const health =
    item.lastJob && ['queued', 'running'].includes(item.lastJob.state)
      ? item.lastJob.state
      : item.health;
  return [
    item.name.padEnd(16),
    item.agentId.padEnd(20),
    (item.policy ?? '-').padEnd(12),
    when(item.lastPoint?.at).padEnd(21),
    when(item.nextRunAt).padEnd(21),
    `${health}${item.agentOnline ? '' : ' (agent offline)'}`,
  ].join(' ');
}

/** Lists items. */
export async function items(options: ItemsOptions): Promise<number> {
  return withScope(options, async (scope) => {
    const agentId = options.agent === undefined ? undefined : await findAgent(scope, options.agent);
    const result =
      scope.as === 'agent'
        ? await scope.client.agentItems(scope.self!)
        : await scope.client.vaultItems(scope.vaultId, agentId);
    if (options.json) printJson(result);
    else if (result.items.length === 0) {
      printLines(
        'No protected items yet: on a machine, npx coffer protect PATH... --item NAME --policy NAME',
      );
    } else {
      printLines(
        `${'ITEM'.padEnd(16)} ${'AGENT'.padEnd(20)} ${'POLICY'.padEnd(12)} ${'LAST BACKUP'.padEnd(21)} ${'NEXT RUN'.padEnd(21)} HEALTH`,
        ...result.items.map(row),
      );
    }
    return 0;
  });
}
