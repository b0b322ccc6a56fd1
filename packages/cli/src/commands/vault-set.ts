/**
 * @module commands/vault-set
 * `coffer vault set VAULT [--soft-delete-days N] [--soft-delete always-on] [--immutability
 * off|unlocked|locked]`: how long deleted points stay restorable and whether history may be cut
 * short (docs/history.md). With no change given, shows the settings.
 */
import type { VaultSettings, VaultSettingsRequest } from '@coffer/api';
import { CofferError } from '@coffer/core';
import type { AdminOptions } from '../connect.js';
import { printJson, printLines } from '../output.js';
import { findVault, withClient, type JsonOption } from './admin.js';

export interface VaultSetOptions extends AdminOptions, JsonOption {
  softDeleteDays?: string;
  softDelete?: string;
  immutability?: string;
}

const ENTITY_ID = /^[a-z]{1,4}_[0-9a-f]{16,32}$/;

/** Reads the change from the options, or throws a usage error naming the bad one. */
function change(options: VaultSetOptions): VaultSettingsRequest {
  const request: VaultSettingsRequest = {};
  if (options.softDeleteDays !== undefined) {
    const days = Number(options.softDeleteDays);
    if (!/^\d+$/.test(options.softDeleteDays) || days > 365) {
      throw new CofferError(
        'USAGE',
        `--soft-delete-days must be 0 to 365, got ${options.softDeleteDays}`,
      );
    }
    request.softDeleteDays = days;
  }
  if (options.softDelete !== undefined) {
    if (options.softDelete !== 'always-on') {
      throw new CofferError(
        'USAGE',
        `--soft-delete takes only always-on (it cannot be turned off again), got ${options.softDelete}`,
      );
    }
    request.softDeleteAlwaysOn = true;
  }
  if (options.immutability !== undefined) {
    if (!['off', 'unlocked', 'locked'].includes(options.immutability)) {
      throw new CofferError(
        'USAGE',
        `--immutability must be off, unlocked or locked, got ${options.immutability}`,
      );
    }
    request.immutability = options.immutability as VaultSettingsRequest['immutability'];
  }
  return request;
}

function describe(name: string, s: VaultSettings): string[] {
  return [
    `Vault ${name}:`,
    `  soft delete: ${s.softDeleteDays} day(s)${s.softDeleteAlwaysOn ? ', always on' : ''}`,
    `  immutability: ${s.immutability}${s.immutability === 'locked' ? ' (irreversible)' : ''}`,
  ];
}

/** Changes (or shows) a vault's history settings. */
export function vaultSet(spec: string, options: VaultSetOptions): Promise<number> {
  const request = change(options);
  return withClient(options, async (client) => {
    // The service admin lists no tenant's vaults: it names a vault by id.
    const vault = ENTITY_ID.test(spec) ? { id: spec, name: spec } : await findVault(client, spec);
    const settings =
      Object.keys(request).length === 0
        ? await client.vaultSettings(vault.id)
        : await client.setVaultSettings(vault.id, request);
    if (options.json) printJson({ settings });
    else printLines(...describe(vault.name, settings));
    return 0;
  });
}
