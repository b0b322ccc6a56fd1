/**
 * @module worker-tasks
 * Request/response work on a few worker threads: each request goes to the least loaded thread,
 * idle threads do not keep the process alive, and without a built worker file (running from
 * TypeScript sources in unit tests) requests run on the calling thread through the same handler.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker, parentPort } from 'node:worker_threads';

/** Handles one request; returns the reply and the memory it may transfer. */
export type TaskHandler<Req, Rep> = (request: Req) => [Rep, ArrayBuffer[]];

interface Envelope<T> {
  seq: number;
  body: T;
}

/** Serves requests on a worker thread with `handler` (call from the worker's module). */
export function serveTasks<Req, Rep>(handler: TaskHandler<Req, Rep>): void {
  parentPort!.on('message', ({ seq, body }: Envelope<Req>) => {
    const [reply, transfer] = handler(body);
    parentPort!.postMessage({ seq, body: reply } satisfies Envelope<Rep>, transfer);
  });
}

/** The whole ArrayBuffers among `parts`, which can move to another thread without a copy. */
export function transferable(parts: readonly Uint8Array[]): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  for (const p of parts) {
    const buffer = p.buffer as ArrayBuffer;
    if (p.byteOffset === 0 && p.byteLength === buffer.byteLength) seen.add(buffer);
  }
  return [...seen];
}

/**
 * Young generation of a worker thread's heap, in MiB. The threads keep few JavaScript objects
 * (their data is in Buffers, outside the heap); V8's default let each grow tens of MiB, and a
 * restore runs four of them: 4 MiB took 20–30 MiB off a restore's peak at the same CPU.
 */
export const WORKER_RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 4 };

/** A few threads running `url`'s module (which calls serveTasks). */
export class WorkerTasks<Req, Rep> {
  private readonly workers: Worker[] = [];
  private readonly load: number[] = [];
  private readonly pending = new Map<
    number,
    { index: number; resolve(reply: Rep): void; reject(error: Error): void }
  >();
  private seq = 0;
  private failure: Error | undefined;
  private closing = false;

  constructor(
    url: URL,
    workerData: unknown,
    private readonly inline: TaskHandler<Req, Rep>,
    size = Math.max(1, availableParallelism()),
  ) {
    if (!existsSync(fileURLToPath(url))) return;
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url, { workerData, resourceLimits: WORKER_RESOURCE_LIMITS });
      worker.on('message', (reply: Envelope<Rep>) => this.settle(reply));
      worker.on('error', (error) => this.fail(error));
      worker.on('exit', (code) => {
        if (!this.closing) this.fail(new Error(`a worker thread stopped (exit code ${code})`));
      });
      worker.unref();
      this.workers.push(worker);
      this.load.push(0);
    }
  }

  /** Fails what is pending and everything after: a thread is gone. */
  private fail(error: Error): void {
    this.failure ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  private settle({ seq, body }: Envelope<Rep>): void {
    const pending = this.pending.get(seq);
    if (!pending) return;
    this.pending.delete(seq);
    if (--this.load[pending.index]! === 0) this.workers[pending.index]!.unref();
    pending.resolve(body);
  }

  /** Runs `request`, passing the `transfer` memory to the thread. */
  run(request: Req, transfer: ArrayBuffer[] = []): Promise<Rep> {
    if (this.workers.length === 0) return Promise.resolve(this.inline(request)[0]);
    if (this.failure) return Promise.reject(this.failure);
    let index = 0;
    for (let i = 1; i < this.load.length; i++) if (this.load[i]! < this.load[index]!) index = i;
    // A thread with work keeps the process alive; an idle one must not.
    if (this.load[index]!++ === 0) this.workers[index]!.ref();
    const seq = this.seq++;
    return new Promise<Rep>((resolve, reject) => {
      this.pending.set(seq, { index, resolve, reject });
      this.workers[index]!.postMessage({ seq, body: request } satisfies Envelope<Req>, transfer);
    });
  }

  /** Stops the threads. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
