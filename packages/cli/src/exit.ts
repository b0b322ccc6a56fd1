/**
 * @module exit
 * The one place that maps errors to exit status and a one-line message.
 * 0 success, 1 failure, 2 usage error, 3 finished with warnings.
 */
import { CofferError } from '@coffer/core';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_WARNINGS = 3;

const USAGE_CODES = new Set([
  'USAGE',
  'PASSPHRASE_TOO_SHORT',
  'PASSPHRASE_MISMATCH',
  'SOURCE_NOT_FOUND',
  'POLICY_INVALID',
]);

/** Prints the error as one line on stderr and returns the exit status. */
export function reportError(error: unknown): number {
  if (error instanceof CofferError) {
    process.stderr.write(`coffer: ${error.message}\n`);
    return USAGE_CODES.has(error.code) ? EXIT_USAGE : EXIT_FAILURE;
  }
  const e = error as NodeJS.ErrnoException;
  if (e?.code && typeof e.code === 'string' && e.path) {
    process.stderr.write(`coffer: ${e.path}: ${e.message}\n`);
    return EXIT_FAILURE;
  }
  process.stderr.write(`coffer: unexpected error: ${e?.stack ?? String(error)}\n`);
  return EXIT_FAILURE;
}
