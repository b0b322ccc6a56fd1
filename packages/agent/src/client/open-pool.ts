/**
 * @module client/open-pool
 * Opens blobs on worker threads, one per core, so that decryption, decompression and the id
 * check of a restore or verify use every core; a restore can have a thread write a plaintext
 * straight into the file it belongs to. Without a built worker file (running from
 * TypeScript sources in unit tests) it opens on the calling thread.
 */
import { CofferError, IntegrityError, openBlob, type BlobType } from '@coffer/core';
import { writeSparse } from '../sparse-write.js';
import { transferable, WorkerTasks } from '../worker-tasks.js';

/** One blob inside a ranged read. */
export interface OpenItem {
  /** Hex: a string crosses threads cheaply, while a small Buffer drags its whole pool along. */
  id: string;
  type: BlobType;
  offset: number;
  length: number;
  /** Write the plaintext (its non-zero blocks) to this open file at these positions. */
  writeTo?: { fd: number; positions: number[] };
}

export interface OpenKeys {
  encryptionKey: Buffer;
  idKey: Buffer;
}

export interface OpenRequest {
  bytes: Uint8Array;
  items: OpenItem[];
  /** Return plaintexts; otherwise only their lengths (a verify needs no more). */
  keep: boolean;
}

/** Per item: the plaintext (or its length), or why it failed to open or to be written. */
export interface OpenReply {
  results: (Uint8Array | number | { error: string } | { writeError: string })[];
  fatal?: string;
}

/** Opens every item of `request`; the reply and the memory it may transfer. */
export function openAll(keys: OpenKeys, request: OpenRequest): [OpenReply, ArrayBuffer[]] {
  const bytes = Buffer.from(
    request.bytes.buffer,
    request.bytes.byteOffset,
    request.bytes.byteLength,
  );
  try {
    const results = request.items.map((item) => {
      try {
        const plaintext = openBlob(
          keys,
          item.type,
          Buffer.from(item.id, 'hex'),
          bytes.subarray(item.offset, item.offset + item.length),
        );
        if (item.writeTo) {
          try {
            for (const position of item.writeTo.positions)
              writeSparse(item.writeTo.fd, plaintext, position);
          } catch (error) {
            return { writeError: (error as Error).message };
          }
          return plaintext.length;
        }
        return request.keep ? plaintext : plaintext.length;
      } catch (error) {
        if (!(error instanceof CofferError)) throw error;
        return { error: error.message };
      }
    });
    const plaintexts = results.filter((r): r is Buffer => r instanceof Uint8Array);
    return [{ results }, transferable(plaintexts)];
  } catch (error) {
    return [{ results: [], fatal: (error as Error).message }, []];
  }
}

/** A pool of threads that open blobs. */
export class OpenPool {
  private readonly tasks: WorkerTasks<OpenRequest, OpenReply>;

  constructor(keys: OpenKeys) {
    this.tasks = new WorkerTasks(
      new URL('./open-worker.js', import.meta.url),
      { encryptionKey: keys.encryptionKey, idKey: keys.idKey },
      (request) => openAll(keys, request),
    );
  }

  /**
   * Opens the blobs at `items` of `bytes` (whose memory passes to the pool). Each result is the
   * plaintext (or, without `keep` or when written to a file, its length), an IntegrityError
   * naming the blob, or a RESTORE_WRITE_FAILED error.
   */
  async open(
    bytes: Buffer,
    items: OpenItem[],
    keep: boolean,
  ): Promise<(Buffer | number | CofferError)[]> {
    const owned =
      bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
        ? bytes
        : new Uint8Array(bytes);
    const reply = await this.tasks.run({ bytes: owned, items, keep }, [
      owned.buffer as ArrayBuffer,
    ]);
    if (reply.fatal) throw new Error(`opening blobs failed: ${reply.fatal}`);
    return reply.results.map((result, i) => {
      if (typeof result === 'number') return result;
      if (result instanceof Uint8Array)
        return Buffer.from(result.buffer, result.byteOffset, result.byteLength);
      if ('writeError' in result) {
        return new CofferError('RESTORE_WRITE_FAILED', `cannot write: ${result.writeError}`);
      }
      return new IntegrityError(result.error, {
        subject: items[i]!.id,
      });
    });
  }
}
