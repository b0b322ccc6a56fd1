/**
 * @module client/open-pool
 * Opens blobs on worker threads, one per core, so that decryption, decompression and the id
 * check of a restore or verify use every core; a restore can have a thread write a plaintext
 * straight into the file it belongs to. Without a built worker file (running from
 * TypeScript sources in unit tests) it opens on the calling thread.
 */
import { CofferError, ID_LENGTH, IntegrityError, openBlob, type BlobType } from '@coffer/core';
import { writeSparse } from '../sparse-write.js';
import { transferable, WorkerTasks } from '../worker-tasks.js';

/** One blob inside a ranged read. */
export interface OpenItem {
  /** Hex, as callers hold ids; `OpenPool.open` packs a read's ids into one buffer for the thread. */
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

/**
 * The items of one ranged read as a few arrays rather than an object each: cloning ten
 * thousand small objects to a thread cost more than opening a fifth of them.
 */
export interface OpenRequest {
  bytes: Uint8Array;
  /** Per item, its id: 32 bytes each. */
  ids: Uint8Array;
  /** Per item, its type. */
  types: Uint8Array;
  /** Per item, its offset in `bytes` and its length. */
  spans: Uint32Array;
  /** Per item, where to write its plaintext (restore), when any item has such a place. */
  writeTo?: (OpenItem['writeTo'] | undefined)[];
  /** Return plaintexts; otherwise only their lengths (a verify needs no more). */
  keep: boolean;
}

/** Per item: the plaintext (or its length), or why it failed to open or to be written. */
export interface OpenReply {
  results: (Uint8Array | number | { error: string } | { writeError: string })[];
  /**
   * The request's bytes, moved back. A thread frees memory moved to it only when it collects
   * the garbage holding it, and a request outlives a few of the thread's young collections, so
   * it was promoted and waited for a full one: each verify thread held 50 MiB of spent reads.
   */
  bytes?: Uint8Array;
  fatal?: string;
}

/** Opens item `i` of `request` (whose bytes are `bytes`). */
function openOne(
  keys: OpenKeys,
  request: OpenRequest,
  bytes: Buffer,
  i: number,
): OpenReply['results'][number] {
  const offset = request.spans[2 * i]!;
  const id = Buffer.from(request.ids.buffer, request.ids.byteOffset + i * ID_LENGTH, ID_LENGTH);
  const writeTo = request.writeTo?.[i];
  try {
    const plaintext = openBlob(
      keys,
      request.types[i] as BlobType,
      id,
      bytes.subarray(offset, offset + request.spans[2 * i + 1]!),
      { transient: !request.keep || writeTo !== undefined },
    );
    if (writeTo) {
      try {
        for (const position of writeTo.positions) writeSparse(writeTo.fd, plaintext, position);
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
}

/** Opens every item of `request`; the reply and the memory it may transfer. */
export function openAll(keys: OpenKeys, request: OpenRequest): [OpenReply, ArrayBuffer[]] {
  const bytes = Buffer.from(
    request.bytes.buffer,
    request.bytes.byteOffset,
    request.bytes.byteLength,
  );
  try {
    const results: OpenReply['results'] = [];
    for (let i = 0; i < request.types.length; i++) {
      results.push(openOne(keys, request, bytes, i));
    }
    const plaintexts = results.filter((r): r is Buffer => r instanceof Uint8Array);
    return [{ results, bytes: request.bytes }, transferable([...plaintexts, request.bytes])];
  } catch (error) {
    return [{ results: [], fatal: (error as Error).message }, []];
  }
}

/** What `OpenPool.open` gives back. */
export interface Opened {
  /** Per item: the plaintext or its length, or the error. */
  results: (Buffer | number | CofferError)[];
  /** The memory of the bytes passed in, handed back for reuse. */
  bytes: Buffer;
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
   * naming the blob, or a RESTORE_WRITE_FAILED error. Bytes past the last item are not read.
   */
  async open(bytes: Buffer, items: OpenItem[], keep: boolean): Promise<Opened> {
    const owned =
      bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
        ? bytes
        : new Uint8Array(bytes);
    const ids = Buffer.alloc(items.length * ID_LENGTH);
    const types = new Uint8Array(items.length);
    const spans = new Uint32Array(items.length * 2);
    items.forEach((item, i) => {
      ids.write(item.id, i * ID_LENGTH, ID_LENGTH, 'hex');
      types[i] = item.type;
      spans[2 * i] = item.offset;
      spans[2 * i + 1] = item.length;
    });
    const request: OpenRequest = { bytes: owned, ids, types, spans, keep };
    if (items.some((item) => item.writeTo)) request.writeTo = items.map((item) => item.writeTo);
    const reply = await this.tasks.run(
      request,
      transferable([owned, ids, types, new Uint8Array(spans.buffer)]),
    );
    if (reply.fatal) throw new Error(`opening blobs failed: ${reply.fatal}`);
    const back = reply.bytes ?? owned;
    const results = reply.results.map((result, i) => {
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
    return { results, bytes: Buffer.from(back.buffer, back.byteOffset, back.byteLength) };
  }
}
