/**
 * @module admin-token
 * `coffer admin reset-token`: on the vault's host, with file access to its data directory, a
 * lost or leaked service-admin token is replaced: every old one is revoked, a new one written.
 */
import { CofferError } from '@coffer/core';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Kysely } from 'kysely';
import { openMetadataDb } from './db/connect.js';
import type { Database } from './db/schema.js';
import { hashSecret, newEntityId, newSecret } from './secrets.js';

/** Stores (the hash of) a new service-admin token. */
export async function insertAdminToken(
  db: Kysely<Database>,
  token: string,
  now: number,
): Promise<void> {
  await db
    .insertInto('tokens')
    .values({
      id: newEntityId('tk'),
      hash: hashSecret(token),
      kind: 'admin',
      tenant_id: null,
      role: null,
      agent_id: null,
      name: 'service admin',
      created_at: now,
    })
    .execute();
}

export interface ResetAdminTokenOptions {
  dataDir: string;
  /** The metadata database URL the vault runs with; default sqlite:DATA/metadata.sqlite. */
  db?: string;
  now?: () => number;
}

/** Revokes every service-admin token and writes a new one to DATA/admin.token (0600). */
export async function resetAdminToken(
  options: ResetAdminTokenOptions,
): Promise<{ path: string; revoked: number }> {
  const dataDir = resolve(options.dataDir);
  const isDir = await stat(dataDir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) {
    throw new CofferError('USAGE', `--data ${options.dataDir}: no such vault data directory`);
  }
  const sqlitePath = join(dataDir, 'metadata.sqlite');
  if (options.db === undefined && !(await stat(sqlitePath).catch(() => undefined))) {
    throw new CofferError(
      'USAGE',
      `no ${sqlitePath}: if this vault keeps its metadata in PostgreSQL, pass the --db it runs with`,
    );
  }
  const meta = await openMetadataDb(options.db ?? `sqlite:${sqlitePath}`);
  const path = join(dataDir, 'admin.token');
  const temp = `${path}.tmp-${process.pid}`;
  const token = newSecret('cft_admin');
  const now = (options.now ?? Date.now)();
  try {
    const file = await open(temp, 'wx', 0o600);
    try {
      await file.writeFile(`${token}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    // The new token is in the database before the file names it, so the file never holds a
    // token that does not work; the old file stays until then.
    const revoked = await meta.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('tokens')
        .set({ revoked_at: now })
        .where('kind', '=', 'admin')
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      await insertAdminToken(trx, token, now);
      return Number(result.numUpdatedRows);
    });
    await rename(temp, path);
    return { path, revoked };
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  } finally {
    await meta.close();
  }
}
