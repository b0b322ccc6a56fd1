/**
 * @module commands/agent-install-service
 * `coffer agent install-service`: writes the systemd unit that runs `coffer agent run` from boot
 * (or, with --user, from login) and prints what it wrote and how to start it.
 */
import {
  isRegistered,
  loadStoredKeys,
  resolveConfigDir,
  storedKeysPath,
  systemdUnit,
  unitPath,
  UNIT_NAME,
  writeFileAtomic,
  loadAgent,
} from '@coffer/agent';
import { CofferError } from '@coffer/core';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printJson, printLines } from '../output.js';

export interface InstallServiceOptions {
  config?: string;
  keys?: string;
  user?: boolean;
  unitDir?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** The coffer script this process runs from (bin/coffer.js of this package). */
function cofferScript(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/coffer.js');
}

/** Writes (or, with --dry-run, prints) the unit. */
export async function agentInstallService(options: InstallServiceOptions): Promise<number> {
  const configDir = resolveConfigDir(options.config);
  if (!(await isRegistered(configDir))) {
    throw new CofferError(
      'NOT_REGISTERED',
      `no registration in ${configDir}; run 'coffer register --credentials FILE' first (or pass --config DIR)`,
    );
  }
  const keysFile = options.keys ? resolve(options.keys) : storedKeysPath(configDir);
  const loaded = await loadAgent(configDir);
  const keysReady = (await loadStoredKeys(keysFile, loaded.state.keyringId)) !== undefined;
  const text = systemdUnit({
    user: options.user === true,
    node: process.execPath,
    coffer: cofferScript(),
    configDir,
    keysFile,
  });
  const path = options.unitDir
    ? join(resolve(options.unitDir), UNIT_NAME)
    : unitPath(options.user === true);
  if (!options.dryRun) await writeFileAtomic(path, text, 0o644);
  const systemctl = options.user ? 'systemctl --user' : 'systemctl';
  if (options.json) {
    printJson({ path, written: !options.dryRun, unit: text, keysReady });
    return 0;
  }
  printLines(
    options.dryRun ? `Would write ${path}:` : `Wrote ${path}:`,
    '',
    text,
    `Start it now and at every ${options.user ? 'login' : 'boot'}:`,
    `  ${systemctl} daemon-reload && ${systemctl} enable --now ${UNIT_NAME}`,
    `Its log: journalctl ${options.user ? '--user ' : ''}-u ${UNIT_NAME} -f`,
  );
  if (!keysReady) {
    printLines(
      '',
      `No stored keys at ${keysFile} yet: run 'coffer agent unlock' first, or the service will not start.`,
    );
  }
  return 0;
}
