/**
 * @module vault-module
 * The vault's own code, loaded only by the commands that run on the vault's host. The agent
 * package (`npm run dist`) leaves it out, so there those commands say where to run them.
 */
import { CofferError } from '@coffer/core';
import type * as Vault from '@coffer/vault';

type VaultModule = typeof Vault;

/** Loads @coffer/vault, or explains that this installation is the agent alone. */
export async function loadVault(): Promise<VaultModule> {
  try {
    return await import('@coffer/vault');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ERR_MODULE_NOT_FOUND' && e.message.includes('@coffer/vault')) {
      throw new CofferError(
        'VAULT_NOT_INSTALLED',
        "the vault is not installed here (this is the agent package); run the vault's commands from a Coffer checkout: npm ci && npm start",
      );
    }
    throw error;
  }
}
