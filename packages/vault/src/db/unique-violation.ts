/**
 * @module db/unique-violation
 * Recognises a unique-constraint failure on either dialect, so routes can answer 409.
 */

/** True when `error` is a unique-constraint violation (PostgreSQL 23505 or SQLite's). */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e.code === '23505' || /UNIQUE constraint failed/.test(e.message ?? '');
}
