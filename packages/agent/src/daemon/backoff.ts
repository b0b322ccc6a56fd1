/**
 * @module daemon/backoff
 * How long the daemon waits before trying the vault again: exponential, capped, with jitter so
 * that many agents cut off at once do not all come back in the same second.
 */

export interface BackoffOptions {
  /** The first delay (before jitter). */
  baseMs: number;
  /** The largest delay (before jitter). */
  maxMs: number;
  /** A number in [0, 1); Math.random by default. */
  random?: () => number;
}

/**
 * The delay after `failures` failed attempts in a row (1 or more): base·2^(failures−1), capped
 * at max, of which a random half is dropped ("equal jitter").
 * @example backoffDelay(3, { baseMs: 1000, maxMs: 30_000 }) // between 2000 and 4000
 */
export function backoffDelay(failures: number, options: BackoffOptions): number {
  const random = options.random ?? Math.random;
  const exponent = Math.min(Math.max(failures, 1) - 1, 30);
  const capped = Math.min(options.maxMs, options.baseMs * 2 ** exponent);
  return capped / 2 + random() * (capped / 2);
}
