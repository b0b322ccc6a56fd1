/**
 * @module backup/chunk-pool
 * Chunking threads, one per core: each reads files, cuts and hashes their chunks, and seals the
 * chunks the walking thread says are new. A thread holds at most a few files at once, each at
 * most one segment ahead, so memory stays bounded. Without a built worker file (running from
 * TypeScript sources in unit tests) the same code runs on the calling thread.
 */
import type { ContentRef } from '@coffer/core';
import type { MasterKeys } from '@coffer/core';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Limiter } from '../limiter.js';
import { WORKER_RESOURCE_LIMITS } from '../worker-tasks.js';
import {
  ChunkServer,
  ScanBatch,
  repliesOf,
  type ChunkAnswers,
  type ChunkBatch,
  type ChunkReply,
  type ChunkRequest,
} from './chunk-messages.js';
import { FileChunker, SMALL_FILE, type FileFailure } from './file-chunker.js';

/** Files each thread works on at once: one being read while the walker decides on another. */
const FILES_PER_THREAD = 2;
/**
 * Small files each thread may hold besides: they need little memory (at most 64 KiB each), and
 * with many in flight their requests and replies travel in batches, one message and one thread
 * wake-up for many files. 64 rather than 16: 4% less CPU over whole initial backups of 100,000
 * and 300,000 small files (paired runs); 256 did no better.
 */
const SMALL_FILES_PER_THREAD = 64;
const WORKER_URL = new URL('./chunk-worker.js', import.meta.url);
const ID_LENGTH = 32;

export interface FileHandlers {
  /** Called per segment with its chunks; returns the indexes of the chunks to seal. */
  segment(ids: Buffer[], lengths: number[], bytesRead: number): Promise<number[]>;
  /** Receives one sealed chunk asked for by `segment`. */
  sealed(id: Buffer, sealed: Buffer): Promise<void>;
}

export interface ChunkedFile {
  refs: ContentRef[];
  size: number;
  /** Whether size or mtime moved while the file was read. */
  changed: boolean;
}

/** Replies of one file, in arrival order. */
class Mailbox {
  private readonly queue: ChunkReply[] = [];
  private waiting: ((reply: ChunkReply) => void) | undefined;
  private failure: Error | undefined;
  private failed: ((error: Error) => void) | undefined;

  deliver(reply: ChunkReply): void {
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      this.failed = undefined;
      resolve(reply);
    } else this.queue.push(reply);
  }

  fail(error: Error): void {
    this.failure = error;
    this.failed?.(error);
  }

  next(): Promise<ChunkReply> {
    const reply = this.queue.shift();
    if (reply) return Promise.resolve(reply);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failed = reject;
    });
  }
}

interface Thread {
  send(request: ChunkRequest): void;
  /** Asks for a small file to be scanned and sealed whole. */
  scan(job: number, path: Buffer, size: number, mtimeNs: bigint): void;
  active: number;
}

/** Replies sent back together at most by the inline fallback (see chunk-worker). */
const INLINE_REPLIES_AT_ONCE = 16;

/** A pool of chunking threads for one keyring. */
export class ChunkPool {
  private readonly threads: Thread[] = [];
  private readonly workers: Worker[] = [];
  private readonly mailboxes = new Map<number, Mailbox>();
  private readonly slots: Limiter;
  private readonly smallSlots: Limiter;
  private seq = 0;
  private failure: Error | undefined;
  private closing = false;

  /** No built worker file (running from TypeScript sources): chunk on this thread. */
  private readonly inline = !existsSync(fileURLToPath(WORKER_URL));

  constructor(
    private readonly keys: MasterKeys,
    private readonly size = Math.max(1, availableParallelism()),
  ) {
    this.slots = new Limiter((this.inline ? 1 : size) * FILES_PER_THREAD);
    this.smallSlots = new Limiter((this.inline ? 1 : size) * SMALL_FILES_PER_THREAD);
  }

  /** Starts the threads on first use: a backup with no changed file needs none. */
  private start(): void {
    if (this.threads.length > 0) return;
    const { keys } = this;
    const data = { encryptionKey: keys.encryptionKey, idKey: keys.idKey, chunker: keys.chunker };
    const answered = (answers: ChunkAnswers): void => {
      for (const reply of repliesOf(answers)) this.deliver(reply);
    };
    const server = this.inline
      ? new ChunkServer(new FileChunker(data), INLINE_REPLIES_AT_ONCE)
      : undefined;
    for (let i = 0; i < (server ? 1 : this.size); i++) {
      let post: (batch: ChunkBatch) => void;
      if (server) {
        // Answered on a later tick, as a worker would.
        post = (batch) => server.serve(batch, answered);
      } else {
        const worker = new Worker(WORKER_URL, {
          workerData: data,
          resourceLimits: WORKER_RESOURCE_LIMITS,
        });
        worker.on('message', answered);
        worker.on('error', (error) => this.failAll(error));
        worker.on('exit', (code) => {
          if (!this.closing)
            this.failAll(new Error(`a chunking thread stopped (exit code ${code})`));
        });
        this.workers.push(worker);
        post = (batch) => worker.postMessage(batch);
      }
      // Requests made in one turn of the event loop go out together, as one message.
      const batch = new ScanBatch();
      const flushSoon = (): void => {
        if (batch.empty) setImmediate(() => post(batch.take()));
      };
      this.threads.push({
        send: (request) => {
          flushSoon();
          batch.request(request);
        },
        scan: (job, path, size, mtimeNs) => {
          flushSoon();
          batch.scan(job, path, size, mtimeNs);
        },
        active: 0,
      });
    }
  }

  private deliver(reply: ChunkReply): void {
    this.mailboxes.get(reply.job)?.deliver(reply);
  }

  private failAll(error: Error): void {
    // Later files must fail too rather than wait for a thread that is gone.
    this.failure ??= error;
    for (const mailbox of this.mailboxes.values()) mailbox.fail(error);
  }

  /** Chunks the file at `path` (listed with `size` and `mtimeNs`); a read failure is returned. */
  async file(
    path: Buffer,
    size: number,
    mtimeNs: bigint,
    handlers: FileHandlers,
  ): Promise<ChunkedFile | FileFailure> {
    return (size <= SMALL_FILE ? this.smallSlots : this.slots).run(async () => {
      this.start();
      const thread = this.threads.reduce((a, b) => (b.active < a.active ? b : a));
      const job = this.seq++;
      const mailbox = new Mailbox();
      if (this.failure) mailbox.fail(this.failure);
      this.mailboxes.set(job, mailbox);
      thread.active++;
      let open = true;
      try {
        if (size <= SMALL_FILE) thread.scan(job, path, size, mtimeNs);
        else thread.send({ kind: 'scan', job, path: path.toString('latin1'), size, mtimeNs });
        const refs: ContentRef[] = [];
        let total = 0;
        for (;;) {
          const reply = await mailbox.next();
          if (reply.kind === 'failed') {
            open = false;
            return reply;
          }
          if (reply.kind !== 'scanned') throw unexpected(reply);
          const ids: Buffer[] = [];
          for (let i = 0; i < reply.lengths.length; i++) {
            const id = Buffer.from(
              reply.ids.buffer,
              reply.ids.byteOffset + i * ID_LENGTH,
              ID_LENGTH,
            );
            ids.push(id);
            refs.push({ id, length: reply.lengths[i]! });
          }
          total += reply.bytesRead;
          const wanted = await handlers.segment(ids, reply.lengths, reply.bytesRead);
          // The sealed chunks asked for, in `wanted` order; a small file's came with its scan.
          let sealed: Uint8Array[];
          let changed = reply.changed;
          if (reply.sealed) {
            open = false;
            sealed = wanted.map((index) => reply.sealed![index]!);
          } else {
            thread.send({ kind: 'seal', job, wanted });
            const answer = await mailbox.next();
            if (answer.kind !== 'sealed') throw unexpected(answer);
            sealed = answer.sealed;
            changed = answer.changed;
          }
          for (let k = 0; k < wanted.length; k++) {
            const bytes = sealed[k]!;
            await handlers.sealed(
              ids[wanted[k]!]!,
              Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
            );
          }
          if (reply.eof) {
            open = false;
            return { refs, size: total, changed: changed ?? false };
          }
        }
      } finally {
        if (open) thread.send({ kind: 'close', job });
        this.mailboxes.delete(job);
        thread.active--;
      }
    });
  }

  /** Stops the threads. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}

function unexpected(reply: ChunkReply): Error {
  return new Error(
    reply.kind === 'error' ? `chunking failed: ${reply.message}` : `unexpected ${reply.kind}`,
  );
}
