/**
 * @module jobs/signals
 * Wakes an agent's waiting poll on this vault process when work is queued for it. Polls also
 * re-read the database every second or so, so work queued by another instance is seen too.
 */
import type { FastifyInstance } from 'fastify';

/** Per-agent wake-ups of waiting polls, and the end of all waits when the server closes. */
export class JobSignals {
  private readonly waiters = new Map<string, Set<() => void>>();
  private closed = false;

  /** Resolves when `signal(agentId)` is called, after `ms`, or when the server closes. */
  wait(agentId: string, ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.waiters.get(agentId);
      if (!set) this.waiters.set(agentId, (set = new Set()));
      const done = (): void => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0 && this.waiters.get(agentId) === set) this.waiters.delete(agentId);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }

  /** Wakes every poll of `agentId` waiting on this process. */
  signal(agentId: string): void {
    for (const done of [...(this.waiters.get(agentId) ?? [])]) done();
  }

  /** True once the server is closing; polls then answer at once. */
  get closing(): boolean {
    return this.closed;
  }

  /** Ends every wait, now and later (the server is closing). */
  close(): void {
    this.closed = true;
    for (const set of [...this.waiters.values()]) for (const done of [...set]) done();
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    jobSignals: JobSignals;
  }
}

/** Decorates `app.jobSignals`; closing the server ends every waiting poll at once. */
export function installJobSignals(app: FastifyInstance): void {
  const signals = new JobSignals();
  app.decorate('jobSignals', signals);
  app.addHook('preClose', (done) => {
    signals.close();
    done();
  });
}
