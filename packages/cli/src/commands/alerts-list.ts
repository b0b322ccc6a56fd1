/**
 * @module commands/alerts-list
 * `coffer alerts`: the tenant's alerts and what became of each notification.
 */
import type { Alert, AlertDelivery, AlertState } from '@coffer/api';
import { CofferError } from '@coffer/core';
import type { AdminOptions } from '../connect.js';
import { count, printJson, printLines } from '../output.js';
import { findVault, withClient, type JsonOption } from './admin.js';

function describeDelivery(d: AlertDelivery): string {
  const tries = count(d.attempts, 'attempt');
  const why = d.lastError ? `: ${d.lastError}` : '';
  if (d.state === 'delivered') return `    ${d.channel} ${d.target}: delivered (${tries})`;
  if (d.state === 'failed') return `    ${d.channel} ${d.target}: failed after ${tries}${why}`;
  return `    ${d.channel} ${d.target}: pending, next try ${d.nextAttemptAt ?? 'soon'} (${tries} so far${why})`;
}

function describeAlert(a: Alert, vaultNames: Map<string, string>): string[] {
  const where = a.vaultId ? `vault ${vaultNames.get(a.vaultId) ?? a.vaultId}` : 'tenant';
  const times = a.count > 1 ? ` (x${a.count}, last ${a.lastRaised})` : '';
  return [
    `${a.id}  ${a.state}  ${a.severity}  ${a.kind}  ${where}  ${a.firstRaised}${times}`,
    `    ${a.message}`,
    ...a.deliveries.map(describeDelivery),
  ];
}

export interface AlertsListOptions extends AdminOptions, JsonOption {
  state?: AlertState;
  vault?: string;
  limit?: string;
}

/** `coffer alerts [--state S] [--vault V] [--limit N] [--json]`. */
export function alertsList(options: AlertsListOptions): Promise<number> {
  const limit = options.limit === undefined ? undefined : Number(options.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 1000)) {
    throw new CofferError('USAGE', `--limit ${options.limit}: expected a number from 1 to 1000`);
  }
  return withClient(options, async (client) => {
    const { vaults } = await client.listVaults();
    const vault = options.vault === undefined ? undefined : await findVault(client, options.vault);
    const result = await client.alerts({ state: options.state, vault: vault?.id, limit });
    if (options.json) printJson(result);
    else if (result.alerts.length === 0)
      printLines(options.state ? `No ${options.state} alerts.` : 'No alerts.');
    else {
      const names = new Map(vaults.map((v) => [v.id, v.name]));
      printLines(...result.alerts.flatMap((a) => describeAlert(a, names)));
    }
    return 0;
  });
}
