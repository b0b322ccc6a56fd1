/**
 * @module commands/notify-show
 * `coffer notify show VAULT`: where a vault's alerts go (never the webhook secret).
 */
import type { AdminOptions } from '../connect.js';
import { printJson, printLines } from '../output.js';
import { findVault, withClient, type JsonOption } from './admin.js';
import { describeTargets } from './notify-set.js';

/** `coffer notify show VAULT [--json]`. */
export function notifyShow(spec: string, options: AdminOptions & JsonOption): Promise<number> {
  return withClient(options, async (client) => {
    const vault = await findVault(client, spec);
    const settings = await client.notifySettings(vault.id);
    if (options.json) printJson({ notify: settings });
    else printLines(...describeTargets(vault.name, settings));
    return 0;
  });
}
