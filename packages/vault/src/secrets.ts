/**
 * @module secrets
 * Bearer tokens, registration secrets and entity ids. Only SHA-256 hashes of tokens and secrets
 * are stored: they are 256-bit random, so a fast hash is enough and no salt is needed.
 */
import { createHash, randomBytes } from 'node:crypto';

/** A new random secret with a readable prefix, e.g. `cft_agent_…`. */
export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** The stored form of a token or secret. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A new entity id such as `ag_5f0c…` (prefix of 1–4 letters, 16 random hex digits). */
export function newEntityId(prefix: string): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
}
