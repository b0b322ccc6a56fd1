/**
 * @module cancelled
 * The error a backup or restore stops with when its caller cancels it (`coffer job cancel`).
 */
import { CofferError } from '@coffer/core';

/** The work was cancelled on purpose; nothing about the data is wrong. */
export class CancelledError extends CofferError {
  constructor(what: string) {
    super('CANCELLED', `the ${what} was cancelled`);
  }
}

/** Throws a CancelledError naming `what` when `signal` was aborted. */
export function throwIfCancelled(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new CancelledError(what);
}
