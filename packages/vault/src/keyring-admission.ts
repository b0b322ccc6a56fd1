/**
 * @module keyring-admission
 * Which keyring a registering machine enters: a new one it creates, or an existing keyring of the
 * same vault whose keys it proves to hold (format.md §3.2) or that a tenant user let it join.
 */
import type { RegisterRequest } from '@coffer/api';
import { verifyJoin, type KeyringJson } from '@coffer/core';
import type { Transaction } from 'kysely';
import type { Database, VaultTable } from './db/schema.js';
import { HttpError } from './plugins/errors.js';

export interface Admission {
  vault: VaultTable;
  keyring: KeyringJson;
  body: RegisterRequest;
  /** The keyring the registration credentials were granted to join, if any. */
  grant: string | null;
  now: number;
}

/**
 * Creates the keyring, or checks that the machine may join it. Every refusal is the same 404,
 * whether the keyring is unknown, belongs to another vault or tenant, or the proof is wrong, so
 * that a registration learns nothing about keyrings it cannot join.
 */
export async function admitToKeyring(
  trx: Transaction<Database>,
  { vault, keyring, body, grant, now }: Admission,
): Promise<void> {
  const existing = await trx
    .selectFrom('keyrings')
    .select(['vault_id', 'join_key'])
    .where('id', '=', keyring.id)
    .executeTakeFirst();
  if (!existing && body.joinProof === undefined && grant === null) {
    await trx
      .insertInto('keyrings')
      .values({
        id: keyring.id,
        vault_id: vault.id,
        json: body.keyring,
        created_at: now,
        join_key: body.joinKey ?? null,
      })
      .execute();
    return;
  }
  const ours = existing !== undefined && existing.vault_id === vault.id;
  const granted = ours && grant === keyring.id;
  const proved =
    ours &&
    existing.join_key !== null &&
    body.joinProof !== undefined &&
    verifyJoin(
      Buffer.from(existing.join_key, 'base64'),
      Buffer.from(body.joinProof, 'base64'),
      vault.id,
      keyring.id,
      body.secret,
    );
  if (!granted && !proved) {
    throw new HttpError(
      'NOT_FOUND',
      `no keyring ${keyring.id} that these credentials may join: register with ` +
        `'coffer register --keyring FILE' and that keyring's passphrase, or ask a tenant user ` +
        `for credentials made with 'coffer vault credentials VAULT --join-keyring ${keyring.id}'`,
    );
  }
}
