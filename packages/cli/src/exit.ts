/**
 * @module exit
 * The one place that maps errors to exit status and a one-line message (docs/errors.md): one
 * line on stderr, or with --json one JSON document `{"error": {"code", "message"}}` on stderr.
 * 0 success, 1 failure, 2 usage error, 3 finished with warnings.
 */
import { CofferError } from '@coffer/core';
import type { CommanderError } from 'commander';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_WARNINGS = 3;

const USAGE_CODES = new Set([
  'USAGE',
  'PASSPHRASE_TOO_SHORT',
  'PASSPHRASE_MISMATCH',
  'SOURCE_NOT_FOUND',
  'BAD_URL',
  'POLICY_INVALID',
]);

function report(code: string, message: string, json: boolean): void {
  if (json) process.stderr.write(`${JSON.stringify({ error: { code, message } })}\n`);
  else process.stderr.write(`coffer: ${message}\n`);
}

/** Prints the error as one line (or JSON) on stderr and returns the exit status. */
export function reportError(error: unknown, json = false): number {
  if (error instanceof CofferError) {
    report(error.code, error.message, json);
    return USAGE_CODES.has(error.code) ? EXIT_USAGE : EXIT_FAILURE;
  }
  const e = error as NodeJS.ErrnoException;
  if (e?.code && typeof e.code === 'string' && e.path) {
    report(e.code, `${e.path}: ${e.message}`, json);
    return EXIT_FAILURE;
  }
  report('INTERNAL', `unexpected error: ${e?.stack ?? String(error)}`, json);
  return EXIT_FAILURE;
}

/**
 * A command line commander refused (unknown option, missing argument or option): commander has
 * printed its message already, except under --json where only the JSON is printed.
 */
export function reportUsageError(error: CommanderError, json: boolean): number {
  if (json) {
    const message =
      error.code === 'commander.help'
        ? 'a subcommand is missing (run with --help for the list)'
        : error.message.replace(/^error: /, '');
    report('USAGE', message, true);
  }
  return EXIT_USAGE;
}
