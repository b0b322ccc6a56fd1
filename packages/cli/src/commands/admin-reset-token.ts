/**
 * @module commands/admin-reset-token
 * `coffer admin reset-token --data DIR`: on the vault's host, replaces a lost or leaked
 * service-admin token. Needs file access to the data directory (and its --db, if PostgreSQL).
 */
import { printJson, printLines } from '../output.js';
import { loadVault } from '../vault-module.js';

export interface ResetTokenOptions {
  data: string;
  db?: string;
  json?: boolean;
}

/** Revokes the old admin tokens and writes a new one. */
export async function adminResetToken(options: ResetTokenOptions): Promise<number> {
  const { resetAdminToken } = await loadVault();
  const result = await resetAdminToken({
    dataDir: options.data,
    ...(options.db ? { db: options.db } : {}),
  });
  if (options.json) printJson({ file: result.path, revoked: result.revoked });
  else
    printLines(
      `Revoked ${result.revoked} service-admin token(s); the new one is in ${result.path} (0600).`,
      `  export COFFER_TOKEN=$(cat ${result.path})`,
    );
  return 0;
}
