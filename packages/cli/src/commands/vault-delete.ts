/**
 * @module commands/vault-delete
 * `coffer vault delete VAULT`: deletes a vault that holds no recovery points and no registered
 * machine (the vault refuses otherwise, and says which).
 */
import type { AdminOptions } from '../connect.js';
import { printJson, printLines } from '../output.js';
import { findVault, withClient, type JsonOption } from './admin.js';

/** Deletes the vault. */
export function vaultDelete(spec: string, options: AdminOptions & JsonOption): Promise<number> {
  return withClient(options, async (client) => {
    const vault = await findVault(client, spec);
    await client.deleteVault(vault.id);
    if (options.json) printJson({ vault });
    else printLines(`Deleted vault ${vault.name} (${vault.id}).`);
    return 0;
  });
}
