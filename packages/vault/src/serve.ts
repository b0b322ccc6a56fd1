/**
 * @module serve
 * `coffer vault serve`: prepares the data directory on first start (certificate, metadata
 * database, service-admin token) and runs the server until stopped.
 */
import { FsBlobStore } from '@coffer/storage';
import type { FastifyInstance } from 'fastify';
import { CofferError } from '@coffer/core';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { insertAdminToken } from './admin-token.js';
import { smtpMailer } from './alerts/mail.js';
import { planBinding, readDataDirState, recordBinding } from './data-binding.js';
import { openMetadataDb, probeMetadataDb, type MetadataDb } from './db/connect.js';
import { newSecret } from './secrets.js';
import { buildServer } from './server.js';
import { ensureTlsIdentity } from './tls.js';
import { LifecycleRunner } from './lifecycle/runner.js';
import type { GcSettings } from './gc/job.js';
import { startTasks } from './lifecycle/tasks.js';
import { TEST_CLOCK_ENV, vaultClock } from './history/test-clock.js';
import { checkListenAddress, listenError } from './startup-errors.js';

export interface ServeOptions {
  dataDir: string;
  host: string;
  port: number;
  /** Metadata database URL; default sqlite:DATA/metadata.sqlite. */
  db?: string;
  /** The URL written into credentials files; default https://HOST:PORT. */
  publicUrl?: string;
  logLevel?: string;
  /** The SMTP server alert e-mails go through: smtp://[USER:PASSWORD@]HOST:PORT or smtps://…. */
  smtp?: string;
  /** The From address of alert e-mails; default coffer@HOSTNAME. */
  mailFrom?: string;
  /** How long a running job may go without a progress report; default 3 minutes. */
  jobTimeoutMs?: number;
  /** Garbage collection's grace period, repack threshold and schedule (docs/gc.md). */
  gc?: Partial<GcSettings>;
}

export interface RunningVault {
  app: FastifyInstance;
  url: string;
  fingerprint: string;
  /** The admin token when this start created it (first start), else undefined. */
  newAdminToken: string | undefined;
  adminTokenPath: string;
  /** Lines to show the operator, such as a data directory that others can read. */
  warnings: string[];
  close(): Promise<void>;
}

/**
 * Makes the service-admin token on first start. The file is written first and never replaced:
 * a start killed before the database row was written adopts the token the file already holds.
 */
async function ensureAdminToken(meta: MetadataDb, path: string): Promise<string | undefined> {
  const existing = await meta.db
    .selectFrom('tokens')
    .select('id')
    .where('kind', '=', 'admin')
    .executeTakeFirst();
  if (existing) return undefined;
  let token = newSecret('cft_admin');
  try {
    await writeFile(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    token = (await readFile(path, 'utf8')).trim();
    if (!/^cft_admin_[A-Za-z0-9_-]{10,190}$/.test(token)) {
      throw new CofferError(
        'USAGE',
        `${path} exists but holds no admin token, and the database has none; move it away to make a new one`,
      );
    }
  }
  await insertAdminToken(meta.db, token, Date.now());
  return token;
}

/** One line about a data directory that other users can read or write, else undefined. */
async function dataDirWarning(dataDir: string): Promise<string | undefined> {
  const mode = (await stat(dataDir)).mode & 0o777;
  if ((mode & 0o077) === 0) return undefined;
  return (
    `warning: data directory ${dataDir} is open to other users (mode ${mode.toString(8)}); ` +
    `it holds the vault's key, tokens and metadata: chmod 700 ${dataDir}`
  );
}

/**
 * Starts the vault; resolves once it listens. A start that fails leaves nothing half-made: the
 * address and the database are checked before anything is created, and a data directory this
 * start created is removed again (a PostgreSQL database it bound completes the binding with it
 * next time).
 */
export async function startVault(options: ServeOptions): Promise<RunningVault> {
  const dataDir = resolve(options.dataDir);
  await checkListenAddress(options.host, options.port);
  const created = !(await stat(dataDir).catch(() => undefined));
  try {
    return await start(options, dataDir);
  } catch (error) {
    if (created) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

async function start(options: ServeOptions, dataDir: string): Promise<RunningVault> {
  const dbUrl = options.db ?? `sqlite:${join(dataDir, 'metadata.sqlite')}`;
  const dbName = options.db
    ? `the database ${options.db.replace(/\/\/[^@/]*@/, '//…@')}`
    : join(dataDir, 'metadata.sqlite');
  // Before anything is created: a data directory and a database that do not belong together
  // are refused, so neither is started with the other's certificate, packs or tokens.
  const plan = planBinding(await readDataDirState(dataDir), await probeMetadataDb(dbUrl), dbName);
  if (plan.kind === 'refuse') throw new CofferError('USAGE', plan.message);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const warning = await dataDirWarning(dataDir);
  const meta = await openMetadataDb(dbUrl);
  try {
    await recordBinding(meta, dataDir, plan);
  } catch (error) {
    await meta.close();
    throw error;
  }
  await mkdir(join(dataDir, 'tls'), { recursive: true, mode: 0o700 });
  await mkdir(join(dataDir, 'blobs'), { recursive: true, mode: 0o700 });
  const tls = await ensureTlsIdentity(join(dataDir, 'tls'));
  const mailer = options.smtp
    ? smtpMailer(options.smtp, options.mailFrom ?? `coffer@${hostname()}`)
    : undefined;
  const adminTokenPath = join(dataDir, 'admin.token');
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  // Tasks start only after the server exists, so its logger is there when they log.
  const lifecycle = new LifecycleRunner({
    error: (object, message) => app.log.error(object, message),
  });
  const app = await buildServer({
    context: {
      db: meta.db,
      dialect: meta.dialect,
      store: new FsBlobStore(join(dataDir, 'blobs')),
      publicUrl: options.publicUrl ?? `https://${hostForUrl}:${options.port}`,
      fingerprint: tls.fingerprint,
      // Tests move it through simulated time with COFFER_TEST_CLOCK_FILE (history/test-clock).
      now: vaultClock(process.env[TEST_CLOCK_ENV]),
      lifecycle,
      ...(mailer ? { mailer } : {}),
    },
    tls,
    logger: { level: options.logLevel ?? 'warn' },
  }).catch(async (error: unknown) => {
    mailer?.close();
    await meta.close();
    throw error;
  });
  let newAdminToken: string | undefined;
  try {
    await app.listen({ host: options.host, port: options.port }).catch((error: unknown) => {
      throw listenError(error, options.host, options.port);
    });
    // Only once it listens: a start that fails mints no token.
    newAdminToken = await ensureAdminToken(meta, adminTokenPath);
  } catch (error) {
    mailer?.close();
    await app.close();
    await meta.close();
    throw error;
  }
  startTasks(app, {
    ...(options.jobTimeoutMs ? { jobTimeoutMs: options.jobTimeoutMs } : {}),
    ...(options.gc ? { gc: options.gc } : {}),
  });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `https://${hostForUrl}:${port}`;
  app.vault.publicUrl = options.publicUrl ?? url;
  return {
    app,
    url,
    fingerprint: tls.fingerprint,
    newAdminToken,
    adminTokenPath,
    warnings: warning ? [warning] : [],
    async close() {
      await lifecycle.stop();
      mailer?.close();
      await app.close();
      await meta.close();
    },
  };
}

/** Reads the service-admin token a first start wrote into DATA/admin.token. */
export async function readAdminToken(dataDir: string): Promise<string> {
  return (await readFile(join(resolve(dataDir), 'admin.token'), 'utf8')).trim();
}
