/**
 * @module commands/vault-serve
 * `coffer vault serve`: runs the vault until SIGINT/SIGTERM.
 */
import { CofferError } from '@coffer/core';
import { relative } from 'node:path';
import { checkHttpsUrl, DEFAULT_DATA_DIR, DEFAULT_LISTEN } from '../connect.js';
import { printLines } from '../output.js';
import { tuneV8ForServing } from '../v8-flags.js';
import { loadVault } from '../vault-module.js';

export interface ServeCommandOptions {
  data?: string;
  listen?: string;
  db?: string;
  publicUrl?: string;
  logLevel?: string;
  smtp?: string;
  mailFrom?: string;
  jobTimeout?: string;
  gcGrace?: string;
  gcEvery?: string;
  gcRepackBelow?: string;
}

/** A whole number from `min` to `max` given to `flag`, or a usage error. */
function bounded(flag: string, text: string | undefined, min: number, max: number, unit: string) {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CofferError('USAGE', `${flag} ${text}: give ${unit} from ${min} to ${max}`);
  }
  return value;
}

/** Parses HOST:PORT (IPv6 hosts in brackets). */
export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new CofferError('USAGE', `--listen ${listen}: expected HOST:PORT, e.g. 127.0.0.1:8443`);
  }
  return { host: match[1] ?? match[2]!, port };
}

/** What a first start prints after the address: where the admin token is and what to run next. */
function firstStartLines(url: string, tokenPath: string, dataArg: string): string[] {
  return [
    '',
    `First start: the service-admin token is in ${tokenPath} (keep it secret).`,
    'Next, in another terminal in this directory:',
    `  export COFFER_URL=${url} COFFER_TOKEN=$(cat ${tokenPath})`,
    `  npx coffer tenant create my-company${dataArg}        # prints the tenant owner's token`,
    '  export COFFER_TOKEN=<owner token>',
    `  npx coffer vault create my-vault${dataArg}`,
    `  npx coffer vault credentials my-vault --out my-vault.credentials${dataArg}`,
    'Then, within 48 hours, on each machine to protect (with the agent installed, see README):',
    '  coffer register --credentials my-vault.credentials',
    '  coffer backup ~/Documents',
  ];
}

/** Runs the vault in the foreground. */
export async function vaultServe(options: ServeCommandOptions): Promise<number> {
  const { startVault } = await loadVault();
  tuneV8ForServing();
  const { host, port } = parseListen(options.listen ?? DEFAULT_LISTEN);
  if (options.publicUrl !== undefined) checkHttpsUrl(options.publicUrl, '--public-url');
  const jobTimeout = options.jobTimeout === undefined ? undefined : Number(options.jobTimeout);
  if (jobTimeout !== undefined && !(jobTimeout >= 1 && jobTimeout <= 86_400)) {
    throw new CofferError(
      'USAGE',
      `--job-timeout ${options.jobTimeout}: give seconds from 1 to 86400`,
    );
  }
  const grace = bounded('--gc-grace', options.gcGrace, 0, 365 * 86_400, 'seconds');
  const every = bounded('--gc-every', options.gcEvery, 60, 365 * 86_400, 'seconds');
  const below = bounded('--gc-repack-below', options.gcRepackBelow, 0, 100, 'a percentage');
  const gc = {
    ...(grace !== undefined ? { graceMs: grace * 1000 } : {}),
    ...(every !== undefined ? { intervalMs: every * 1000 } : {}),
    ...(below !== undefined ? { repackBelow: below / 100 } : {}),
  };
  const dataDir = options.data ?? process.env.COFFER_DATA ?? DEFAULT_DATA_DIR;
  // From the environment, an SMTP password stays out of the process list.
  const smtp = options.smtp ?? process.env.COFFER_SMTP;
  const vault = await startVault({
    dataDir,
    host,
    port,
    ...(options.db ? { db: options.db } : {}),
    ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    ...(smtp ? { smtp } : {}),
    ...(options.mailFrom ? { mailFrom: options.mailFrom } : {}),
    ...(jobTimeout !== undefined ? { jobTimeoutMs: jobTimeout * 1000 } : {}),
    ...(Object.keys(gc).length > 0 ? { gc } : {}),
  });
  for (const warning of vault.warnings) process.stderr.write(`${warning}\n`);
  const relativePath = relative(process.cwd(), vault.adminTokenPath);
  const tokenPath = relativePath.startsWith('..') ? vault.adminTokenPath : relativePath;
  const dataArg = dataDir === DEFAULT_DATA_DIR ? '' : ` --data ${dataDir}`;
  // One write, so that whoever waits for "listening on" reads the next steps with it.
  printLines(
    `Coffer vault listening on ${vault.url}`,
    `  certificate sha256 ${vault.fingerprint}`,
    `  data in ${dataDir}${options.db ? `, metadata in ${options.db.replace(/\/\/[^@/]*@/, '//…@')}` : ''}`,
    `  alert e-mails ${vault.app.vault.mailer ? `through ${vault.app.vault.mailer.server}` : 'off (no --smtp)'}`,
    ...(vault.newAdminToken ? firstStartLines(vault.url, tokenPath, dataArg) : []),
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await vault.close();
  return 0;
}
