/**
 * @module db/migrations
 * The ordered list of migrations, one file each under migrations/, shared by SQLite and
 * PostgreSQL. Names sort in the order they run; a new one takes the next number.
 */
import { Migrator, type Kysely, type Migration } from 'kysely';
import type { Database } from './schema.js';
import type { Dialect, MigrationContext } from './migrations/context.js';
import { initial } from './migrations/0001-initial.js';
import { dataSafety } from './migrations/0002-data-safety.js';
import { security } from './migrations/0003-security.js';
import { accessLifecycle } from './migrations/0004-access-lifecycle.js';
import { protection } from './migrations/0005-protection.js';
import { auditAndAlerts } from './migrations/0006-audit-and-alerts.js';
import { compactBlobIndex } from './migrations/0007-compact-blob-index.js';
import { history } from './migrations/0008-history.js';
import { gc } from './migrations/0009-gc.js';
import { noBlobsByPack } from './migrations/0010-no-blobs-by-pack.js';
import { refsFromFooters } from './migrations/0011-refs-from-footers.js';
import { pendingPacks } from './migrations/0012-pending-packs.js';

export type { Dialect };

/** Every migration by name, for `dialect`. */
export function migrations(dialect: Dialect): Record<string, Migration> {
  const context: MigrationContext = { dialect, binary: dialect === 'postgres' ? 'bytea' : 'blob' };
  return {
    '0001_initial': initial(context),
    '0002_data_safety': dataSafety(context),
    '0003_security': security(context),
    '0004_access_lifecycle': accessLifecycle(context),
    '0005_protection': protection(context),
    '0006_audit_and_alerts': auditAndAlerts(context),
    '0007_compact_blob_index': compactBlobIndex(context),
    '0008_history': history(context),
    '0009_gc': gc(context),
    '0010_no_blobs_by_pack': noBlobsByPack(context),
    '0011_refs_from_footers': refsFromFooters(context),
    '0012_pending_packs': pendingPacks(context),
  };
}

/** Brings the schema up to date; throws with the failing migration's error. */
export async function migrate(db: Kysely<Database>, dialect: Dialect): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(migrations(dialect)) },
    // Numbers are handed out ahead of time and land in any order (0006 before 0004), so a vault
    // that already ran a later one still takes an earlier one that arrives after it. Each
    // migration depends only on those below its number.
    allowUnorderedMigrations: true,
  });
  const { error } = await migrator.migrateToLatest();
  if (error !== undefined) throw error;
}
