/**
 * @module data-binding
 * Which metadata database a data directory belongs to: DATA/vault.json and the database's
 * settings name the same instance id, so that a vault never starts a data directory (its
 * certificate, packs and admin token) with another database, nor a database with another
 * data directory. Checked before anything is created.
 */
import { CofferError } from '@coffer/core';
import { randomBytes } from 'node:crypto';
import { access, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MetadataDb, MetadataDbProbe } from './db/connect.js';

const BINDING_FILE = 'vault.json';

/** What the data directory shows of its past. */
export interface DataDirState {
  path: string;
  /** The instance id in DATA/vault.json, if any. */
  instanceId: string | null;
  /** True when an earlier start left an admin token or a certificate in it. */
  used: boolean;
}

/** How a start goes on: already bound, finish an interrupted binding, bind a new pair, or not. */
export type BindingPlan =
  | { kind: 'bound' }
  | { kind: 'complete'; instanceId: string }
  | { kind: 'new' }
  | { kind: 'refuse'; message: string };

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/** Reads what `dataDir` records; a damaged vault.json is refused, never replaced. */
export async function readDataDirState(dataDir: string): Promise<DataDirState> {
  const file = join(dataDir, BINDING_FILE);
  let instanceId: string | null = null;
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { instanceId?: unknown };
    if (typeof parsed.instanceId !== 'string' || !/^[0-9a-f]{32}$/.test(parsed.instanceId)) {
      throw new Error('no instanceId');
    }
    instanceId = parsed.instanceId;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new CofferError(
        'USAGE',
        `${file} is damaged (${(error as Error).message}); it names the metadata database this data directory belongs to, restore it from a backup`,
      );
    }
  }
  const used =
    (await exists(join(dataDir, 'admin.token'))) ||
    (await exists(join(dataDir, 'tls', 'cert.pem')));
  return { path: dataDir, instanceId, used };
}

/**
 * Decides whether the data directory and the database belong together. `dbName` names the
 * database in messages. A fresh directory with a database no vault has used is a new pair, and
 * so is a directory and database of an older version that both show use (the upgrade).
 */
export function planBinding(dir: DataDirState, db: MetadataDbProbe, dbName: string): BindingPlan {
  const withDb = `start with --db set to the database ${dir.path} was made with`;
  if (dir.instanceId !== null) {
    if (db.exists && db.instanceId === dir.instanceId) return { kind: 'bound' };
    const what = !db.exists
      ? `${dbName} does not exist yet`
      : db.instanceId === null
        ? `${dbName} belongs to no data directory`
        : `${dbName} belongs to instance ${db.instanceId}`;
    return {
      kind: 'refuse',
      message: `data directory ${dir.path} belongs to the metadata database of instance ${dir.instanceId}, but ${what}; ${withDb}`,
    };
  }
  if (db.exists && db.instanceId !== null) {
    if (db.dataDir === dir.path) return { kind: 'complete', instanceId: db.instanceId };
    return {
      kind: 'refuse',
      message: `${dbName} belongs to data directory ${db.dataDir ?? '(unknown)'} (instance ${db.instanceId}), not to ${dir.path}; start with --data ${db.dataDir ?? 'DIR'}`,
    };
  }
  const dbUsed = db.exists && db.hasAdmin;
  if (dir.used && !dbUsed) {
    return {
      kind: 'refuse',
      message: `data directory ${dir.path} was used with another metadata database, and ${dbName} is new; ${withDb}`,
    };
  }
  if (!dir.used && dbUsed) {
    return {
      kind: 'refuse',
      message: `${dbName} was used with another data directory (its certificate and packs are there), and ${dir.path} is new; start with --data set to that directory`,
    };
  }
  return { kind: 'new' };
}

async function writeBindingFile(dataDir: string, instanceId: string): Promise<void> {
  const file = join(dataDir, BINDING_FILE);
  const body = { format: 'coffer-vault-data', version: 1, instanceId };
  await writeFile(`${file}.tmp`, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

/**
 * Records the binding where it is missing, once the database is open and migrated: first in the
 * database (with this directory's path), then in DATA/vault.json, so that a start killed in
 * between is completed by the next one.
 */
export async function recordBinding(
  meta: MetadataDb,
  dataDir: string,
  plan: Exclude<BindingPlan, { kind: 'refuse' }>,
): Promise<void> {
  if (plan.kind === 'bound') return;
  if (plan.kind === 'complete') {
    await writeBindingFile(dataDir, plan.instanceId);
    return;
  }
  const rows = [
    { key: 'instance_id', value: randomBytes(16).toString('hex') },
    { key: 'data_dir', value: dataDir },
  ];
  // Two first starts racing on one PostgreSQL: the first insert wins, the other is refused.
  await meta.db
    .insertInto('settings')
    .values(rows)
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const stored = await meta.db.selectFrom('settings').selectAll().execute();
  const value = (key: string): string | undefined => stored.find((r) => r.key === key)?.value;
  if (value('data_dir') !== dataDir) {
    throw new CofferError(
      'USAGE',
      `the metadata database belongs to data directory ${value('data_dir')}, not to ${dataDir}; start with --data ${value('data_dir')}`,
    );
  }
  await writeBindingFile(dataDir, value('instance_id')!);
}
