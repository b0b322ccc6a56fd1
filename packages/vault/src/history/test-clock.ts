/**
 * @module history/test-clock
 * The vault's clock, which tests can move: with COFFER_TEST_CLOCK_FILE set, the file holds an
 * offset in milliseconds added to the system clock, so a test walks a real vault process through
 * a simulated year while every code path (scheduler, expiry, purge, alerts) runs as in production.
 * Production never sets the variable; the vault then reads the system clock.
 */
import { readFileSync } from 'node:fs';

/** The environment variable only tests set. */
export const TEST_CLOCK_ENV = 'COFFER_TEST_CLOCK_FILE';

/**
 * The vault's `now()`: the system clock, or, when `file` is given, the system clock plus the
 * offset the file holds (an integer of ms; a missing or empty file means 0). The file is read
 * on every call so a test's change is seen at once; an unreadable offset is an error rather
 * than a silent jump back to real time.
 * @example const now = vaultClock(process.env[TEST_CLOCK_ENV]); now()
 */
export function vaultClock(file: string | undefined): () => number {
  if (file === undefined || file === '') return () => Date.now();
  return () => {
    let text = '';
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text === '') return Date.now();
    const offset = Number(text);
    if (!Number.isSafeInteger(offset)) {
      throw new Error(`${TEST_CLOCK_ENV} file ${file} holds ${JSON.stringify(text)}, not ms`);
    }
    return Date.now() + offset;
  };
}
