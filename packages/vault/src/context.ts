/**
 * @module context
 * What every route can reach: the metadata database, the blob store and the service's identity.
 */
import type { BlobStore } from '@coffer/storage';
import type { Kysely } from 'kysely';
import type { Dialect } from './db/migrations/context.js';
import type { Database } from './db/schema.js';

export interface VaultContext {
  db: Kysely<Database>;
  dialect: Dialect;
  store: BlobStore;
  /** The URL agents are told to use (written into credentials files). */
  publicUrl: string;
  /** The TLS certificate's SHA-256 fingerprint, hex. */
  fingerprint: string;
  /** Clock, replaceable in tests of expiry. */
  now(): number;
}

declare module 'fastify' {
  interface FastifyInstance {
    vault: VaultContext;
  }
}
