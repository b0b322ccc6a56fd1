/**
 * @module pack-health
 * Whether each stored pack is still what its name says: ok, missing or damaged. A pack is marked
 * only on the vault's own evidence (its read failed, its size is wrong, its bytes hash to another
 * name), and marking one bumps its keyring's closure epoch, so no closure flag outlives the loss.
 */
import { NotFoundError } from '@coffer/core';
import { InvalidRangeError } from '@coffer/storage';
import { createHash } from 'node:crypto';
import { getPack, setPackState } from './blob-index/index.js';
import type { VaultContext } from './context.js';
import type { PackState } from './db/schema.js';
import { packKey } from './pack-keys.js';

/** A re-hash this recent is not repeated when an agent reports the same pack again. */
const RECHECK_AFTER_MS = 60_000;

type Health = Pick<VaultContext, 'db' | 'store' | 'now'>;

/** Records that pack `name` is missing or damaged, invalidating its keyring's closure flags. */
export async function markPack(
  vault: Health,
  keyringId: string,
  name: string,
  state: Exclude<PackState, 'ok'>,
): Promise<void> {
  await vault.db.transaction().execute(async (trx) => {
    const changed = await setPackState(trx, keyringId, name, state, vault.now(), {
      onlyIfChanged: true,
    });
    if (!changed) return;
    await trx
      .updateTable('keyrings')
      .set((eb) => ({ closure_epoch: eb('closure_epoch', '+', 1) }))
      .where('id', '=', keyringId)
      .execute();
  });
}

/** The state a failed read of a pack shows, or undefined when it says nothing about the pack. */
export function readFailure(error: unknown): Exclude<PackState, 'ok'> | undefined {
  if (error instanceof NotFoundError) return 'missing';
  // A range inside the recorded size that the store cannot serve: the file is short.
  if (error instanceof InvalidRangeError) return 'damaged';
  return undefined;
}

/**
 * Checks that the packs (name → recorded size) are present with their recorded sizes, once
 * each; marks and returns those that are not.
 */
export async function confirmPacks(
  vault: Health,
  keyringId: string,
  packs: ReadonlyMap<string, number>,
): Promise<Set<string>> {
  const bad = new Set<string>();
  await Promise.all(
    [...packs].map(async ([name, size]) => {
      const info = await vault.store.head(packKey(keyringId, name));
      const state = !info ? 'missing' : info.size !== size ? 'damaged' : undefined;
      if (!state) return;
      bad.add(name);
      await markPack(vault, keyringId, name, state);
    }),
  );
  return bad;
}

/**
 * Re-hashes pack `name` from the blob store and records what it found; a pack checked in the
 * last minute keeps its state. Returns the state, or undefined when the vault has no such pack.
 */
export async function recheckPack(
  vault: Health,
  keyringId: string,
  name: string,
): Promise<PackState | undefined> {
  const row = await getPack(vault.db, keyringId, name);
  if (!row) return undefined;
  if (row.checkedAt !== null && vault.now() - row.checkedAt < RECHECK_AFTER_MS) return row.state;
  const state = await hashState(vault, packKey(keyringId, name), name, row.size);
  if (state !== 'ok') await markPack(vault, keyringId, name, state);
  else await setPackState(vault.db, keyringId, name, state, vault.now());
  return state;
}

async function hashState(
  vault: Health,
  key: string,
  name: string,
  size: number,
): Promise<PackState> {
  const info = await vault.store.head(key);
  if (!info) return 'missing';
  if (info.size !== size) return 'damaged';
  const hash = createHash('sha256');
  try {
    for await (const chunk of await vault.store.get(key)) hash.update(chunk);
  } catch (error) {
    const state = readFailure(error);
    if (state) return state;
    throw error;
  }
  return hash.digest('hex') === name ? 'ok' : 'damaged';
}
