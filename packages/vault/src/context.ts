/**
 * @module context
 * What every route can reach: the metadata database, the blob store and the service's identity.
 */
import type { BlobStore } from '@coffer/storage';
import type { Mailer } from './alerts/mail.js';
import type { Kysely } from 'kysely';
import type { Dialect } from './db/migrations/context.js';
import type { Database } from './db/schema.js';
import type { LifecycleRunner } from './lifecycle/runner.js';

export interface VaultContext {
  db: Kysely<Database>;
  dialect: Dialect;
  store: BlobStore;
  /** The URL agents are told to use (written into credentials files). */
  publicUrl: string;
  /** The TLS certificate's SHA-256 fingerprint, hex. */
  fingerprint: string;
  /**
   * The one clock of everything the vault records and decides (commit times, schedules,
   * expiry); tests replace it. Never call Date.now() for those.
   */
  now(): number;
  /** Background tasks; routes `wake` one after queueing work for it. */
  lifecycle: LifecycleRunner;
  /** Sends alert e-mails; absent when the vault was started without an SMTP server. */
  mailer?: Mailer;
}

declare module 'fastify' {
  interface FastifyInstance {
    vault: VaultContext;
  }
}
