/**
 * @module commands/alert-ack
 * `coffer alert ack ID`: someone is on it.
 */
import { CofferError } from '@coffer/core';
import type { AdminOptions } from '../connect.js';
import { printJson, printLines } from '../output.js';
import { withClient, type JsonOption } from './admin.js';

/** `coffer alert ack ID [--json]`. */
export function alertAck(id: string, options: AdminOptions & JsonOption): Promise<number> {
  if (!/^[a-z]{1,4}_[0-9a-f]{16,32}$/.test(id)) {
    throw new CofferError(
      'USAGE',
      `${id}: expected an alert id such as al_5f0c2b9e1d3a4c6b ('coffer alerts' lists them)`,
    );
  }
  return withClient(options, async (client) => {
    const alert = await client.ackAlert(id);
    if (options.json) printJson({ alert });
    else if (alert.state === 'resolved') {
      printLines(`Alert ${alert.id} was resolved at ${alert.resolvedAt}; nothing to acknowledge.`);
    } else {
      printLines(
        `Alert ${alert.id} acknowledged by ${alert.acknowledgedBy} at ${alert.acknowledgedAt}: ${alert.message}`,
      );
    }
    return 0;
  });
}
