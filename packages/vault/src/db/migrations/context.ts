/**
 * @module db/migrations/context
 * What a migration may depend on: the dialect and its name for a binary column.
 */
export type Dialect = 'sqlite' | 'postgres';

export interface MigrationContext {
  dialect: Dialect;
  /** `bytea` on PostgreSQL, `blob` on SQLite. */
  binary: 'bytea' | 'blob';
}
