/**
 * @module limiter
 * A counting semaphore: bounds how much work is in flight so memory stays bounded.
 */

/** At most `limit` holders at once; `acquire` waits for a free place. */
export class Limiter {
  private active = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** True when no one holds a place or waits for one. */
  get idle(): boolean {
    return this.active === 0 && this.waiters.length === 0;
  }

  /** Waits for a place; call `release` when done. */
  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Gives a place back (to the longest waiter, if any). */
  release(): void {
    const next = this.waiters.shift();
    if (next) {
      next();
      return;
    }
    this.active--;
  }

  /** Runs `task` holding a place. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await task();
    } finally {
      this.release();
    }
  }
}

/**
 * A budget of bytes: `acquire(n)` waits until `n` more fit under the limit. A request larger
 * than the whole budget goes through when nothing else holds any, so it cannot wait forever.
 */
export class ByteBudget {
  private used = 0;
  private readonly waiters: { bytes: number; resolve: () => void }[] = [];

  constructor(private readonly limit: number) {}

  /** Waits until `bytes` fit; call `release(bytes)` when done. */
  async acquire(bytes: number): Promise<void> {
    if (this.waiters.length === 0 && this.fits(bytes)) {
      this.used += bytes;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push({ bytes, resolve }));
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.limit;
  }

  /** Gives `bytes` back and lets waiters in, first come first served. */
  release(bytes: number): void {
    this.used -= bytes;
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.bytes)) {
      const next = this.waiters.shift()!;
      this.used += next.bytes;
      next.resolve();
    }
  }
}

/** Runs `task` over `items` with at most `concurrency` at once; rejects with the first error. */
export async function forEachLimited<T>(
  items: Iterable<T>,
  concurrency: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let failed: unknown;
  let hasFailed = false;
  async function lane(): Promise<void> {
    for (;;) {
      if (hasFailed) return;
      const next = iterator.next();
      if (next.done) return;
      try {
        await task(next.value);
      } catch (error) {
        if (!hasFailed) {
          hasFailed = true;
          failed = error;
        }
        return;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
  if (hasFailed) throw failed;
}
