/**
 * @module serve
 * `coffer vault serve`: prepares the data directory on first start (certificate, metadata
 * database, service-admin token) and runs the server until stopped.
 */
import { FsBlobStore } from '@coffer/storage';
import type { FastifyInstance } from 'fastify';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { smtpMailer } from './alerts/mail.js';
import { openMetadataDb, type MetadataDb } from './db/connect.js';
import { hashSecret, newEntityId, newSecret } from './secrets.js';
import { buildServer } from './server.js';
import { ensureTlsIdentity } from './tls.js';
import { LifecycleRunner } from './lifecycle/runner.js';
import { startTasks } from './lifecycle/tasks.js';

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
}

export interface RunningVault {
  app: FastifyInstance;
  url: string;
  fingerprint: string;
  /** The admin token when this start created it (first start), else undefined. */
  newAdminToken: string | undefined;
  adminTokenPath: string;
  close(): Promise<void>;
}

async function ensureAdminToken(meta: MetadataDb, path: string): Promise<string | undefined> {
  const existing = await meta.db
    .selectFrom('tokens')
    .select('id')
    .where('kind', '=', 'admin')
    .executeTakeFirst();
  if (existing) return undefined;
  const token = newSecret('cft_admin');
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  await meta.db
    .insertInto('tokens')
    .values({
      id: newEntityId('tk'),
      hash: hashSecret(token),
      kind: 'admin',
      tenant_id: null,
      role: null,
      agent_id: null,
      name: 'service admin',
      created_at: Date.now(),
    })
    .execute();
  return token;
}

/** Starts the vault; resolves once it listens. */
export async function startVault(options: ServeOptions): Promise<RunningVault> {
  const dataDir = resolve(options.dataDir);
  await mkdir(join(dataDir, 'tls'), { recursive: true, mode: 0o700 });
  await mkdir(join(dataDir, 'blobs'), { recursive: true, mode: 0o700 });
  const tls = await ensureTlsIdentity(join(dataDir, 'tls'));
  const mailer = options.smtp
    ? smtpMailer(options.smtp, options.mailFrom ?? `coffer@${hostname()}`)
    : undefined;
  const meta = await openMetadataDb(options.db ?? `sqlite:${join(dataDir, 'metadata.sqlite')}`);
  const adminTokenPath = join(dataDir, 'admin.token');
  const newAdminToken = await ensureAdminToken(meta, adminTokenPath);
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
      now: () => Date.now(),
      lifecycle,
      ...(mailer ? { mailer } : {}),
    },
    tls,
    logger: { level: options.logLevel ?? 'warn' },
  });
  await app.listen({ host: options.host, port: options.port });
  startTasks(app);
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
