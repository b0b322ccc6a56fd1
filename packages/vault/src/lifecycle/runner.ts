/**
 * @module lifecycle/runner
 * Runs the vault's background tasks (schedules, deliveries, expiry, GC…) on timers. A task is
 * run again only after its previous run ended, and `wake` runs it early (e.g. right after a
 * request queued work for it). Tasks must be safe on several vault instances sharing one
 * database: they claim rows with compare-and-set updates, so any instance may run them.
 */

export interface TaskLog {
  error(object: { err: unknown; task: string }, message: string): void;
}

/** A task's run; it may resolve to the delay before its next run (default: its interval). */
export type TaskRun = () => Promise<number | void>;

interface Task {
  intervalMs: number;
  run: TaskRun;
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
  again: boolean;
}

/** The background tasks of one vault process. */
export class LifecycleRunner {
  private readonly tasks = new Map<string, Task>();
  private stopped = false;

  constructor(private readonly log: TaskLog) {}

  /**
   * Runs `run` every `intervalMs` (first run after `intervalMs`, or at `wake`); a run that
   * resolves to a number of milliseconds is next run after that instead.
   */
  every(name: string, intervalMs: number, run: TaskRun): void {
    if (this.tasks.has(name)) throw new Error(`lifecycle task ${name} exists already`);
    const task: Task = { intervalMs, run, timer: undefined, running: undefined, again: false };
    this.tasks.set(name, task);
    this.schedule(name, task, intervalMs);
  }

  /** Runs task `name` as soon as it is not running (once more, if it is). No-op if unknown. */
  wake(name: string): void {
    const task = this.tasks.get(name);
    if (!task || this.stopped) return;
    if (task.running) {
      task.again = true;
      return;
    }
    this.schedule(name, task, 0);
  }

  private schedule(name: string, task: Task, delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(task.timer);
    task.timer = setTimeout(() => this.start(name, task), delayMs);
    task.timer.unref();
  }

  private start(name: string, task: Task): void {
    task.again = false;
    task.running = task
      .run()
      .catch((err: unknown) => this.log.error({ err, task: name }, 'lifecycle task failed'))
      .then((delay) => {
        task.running = undefined;
        const next = typeof delay === 'number' ? Math.max(0, delay) : task.intervalMs;
        this.schedule(name, task, task.again ? 0 : next);
      });
  }

  /** Stops every timer and waits for the runs in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const task of this.tasks.values()) clearTimeout(task.timer);
    await Promise.all([...this.tasks.values()].map((t) => t.running));
  }
}
