/**
 * @module client/open-pool
 * Opens blobs on worker threads, one per core, so that decryption, decompression and the id
 * check of a restore or verify use every core. Without a built worker file (running from
 * TypeScript sources in unit tests) it opens on the calling thread.
 */
import { CofferError, IntegrityError, openBlob, type BlobType } from '@coffer/core';
import { transferable, WorkerTasks } from '../worker-tasks.js';

/** One blob inside a ranged read. */
export interface OpenItem {
  /** Hex: a string crosses threads cheaply, while a small Buffer drags its whole pool along. */
  id: string;
  type: BlobType;
  offset: number;
  length: number;
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

/** Per item: the plaintext (or its length) or the message of the integrity error. */
export interface OpenReply {
  results: (Uint8Array | number | { error: string })[];
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
   * plaintext (or, without `keep`, its length) or an IntegrityError naming the blob.
   */
  async open(
    bytes: Buffer,
    items: OpenItem[],
    keep: boolean,
  ): Promise<(Buffer | number | IntegrityError)[]> {
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
      return new IntegrityError(result.error, {
        subject: items[i]!.id,
      });
    });
  }
}
