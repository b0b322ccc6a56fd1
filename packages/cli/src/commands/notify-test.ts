/**
 * @module commands/notify-test
 * `coffer notify test VAULT`: sends a test notification to each target and says how it went.
 */
import { CofferError } from '@coffer/core';
import type { AdminOptions } from '../connect.js';
import { printJson, printLines } from '../output.js';
import { findVault, withClient, type JsonOption } from './admin.js';

/** `coffer notify test VAULT [--json]`; fails (exit 1) unless every target took the message. */
export function notifyTest(spec: string, options: AdminOptions & JsonOption): Promise<number> {
  return withClient(options, async (client) => {
    const vault = await findVault(client, spec);
    const { results } = await client.testNotify(vault.id);
    if (options.json) printJson({ results });
    else if (results.length > 0) {
      printLines(
        ...results.map((r) => `${r.channel} ${r.target}: ${r.ok ? 'sent' : `failed: ${r.error}`}`),
      );
    }
    if (results.length === 0) {
      throw new CofferError(
        'NOTIFY_FAILED',
        `vault ${vault.name} has no notification targets; set them with coffer notify set ${vault.name} --webhook URL | --email ADDRESS`,
      );
    }
    const failed = results.filter((r) => !r.ok);
    if (failed.length > 0) {
      throw new CofferError(
        'NOTIFY_FAILED',
        `${failed.length} of ${results.length} targets did not take the test (${failed[0]!.error}); fix the target or the vault's --smtp, then run coffer notify test again`,
      );
    }
    return 0;
  });
}
