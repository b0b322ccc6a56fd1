/**
 * @module backup/chunk-messages
 * The messages between the walking thread and a chunking thread, and how a FileChunker answers
 * them: one place, so the worker and the inline fallback behave the same.
 *
 * Small files, the bulk of a tree of many files, travel packed: a batch of scans is a list of
 * numbers and one string of paths, and their sealed chunks come back in one buffer with a list
 * of numbers to read it by. Cloning an object per file each way (a path, a bigint, an array of
 * lengths, a typed array of ids, a view of the sealed bytes) cost both threads more than
 * reading, hashing and sealing a small file.
 */
import { transferable } from '../worker-tasks.js';
import type { FileChunker, FileFailure, Scanned, ScanRequest, Sealed } from './file-chunker.js';

export type ChunkRequest =
  /**
   * A large file's scan. Its path is a latin1 string (one character per byte, so any name
   * survives): a string crosses to a thread far more cheaply than a typed array of its own.
   */
  | ({ kind: 'scan'; path: string } & Omit<ScanRequest, 'path'>)
  | { kind: 'seal'; job: number; wanted: number[] }
  | { kind: 'close'; job: number };

export type ChunkReply =
  | ({ kind: 'scanned' } & Scanned)
  | ({ kind: 'failed' } & FileFailure)
  | ({ kind: 'sealed' } & Sealed)
  | { kind: 'error'; job: number; message: string };

/**
 * What the walking thread sends a chunking thread at once. `scans`: per small file its job,
 * size, mtime (whole seconds and the nanoseconds past them) and the length of its path, whose
 * bytes follow one another in `paths` (latin1, one character per byte).
 */
export interface ChunkBatch {
  scans: number[];
  paths: string;
  requests: ChunkRequest[];
}

/**
 * What a chunking thread sends back at once. `heads`: per small file sealed whole, its job,
 * bytes read, 1 if it changed while read, its number of chunks n, then each chunk's length and
 * sealed length. `sealed` holds, per such file, its n sealed chunks and then its n ids; it is
 * there whenever `heads` is not empty, if only with no bytes (empty files).
 */
export interface ChunkAnswers {
  heads: number[];
  sealed: Uint8Array | undefined;
  replies: ChunkReply[];
}

const ID_LENGTH = 32;
const NS_PER_S = 1_000_000_000n;
/** First size of a SealedWriter's buffer: 16 files of 0–8 KiB fit, and it doubles as needed. */
const WRITER_START = 256 * 1024;

/** Collects the small files to scan until the batch is sent. */
export class ScanBatch {
  private scans: number[] = [];
  private paths: Buffer[] = [];
  private requests: ChunkRequest[] = [];

  get empty(): boolean {
    return this.scans.length === 0 && this.requests.length === 0;
  }

  scan(job: number, path: Buffer, size: number, mtimeNs: bigint): void {
    this.scans.push(job, size, Number(mtimeNs / NS_PER_S), Number(mtimeNs % NS_PER_S), path.length);
    this.paths.push(path);
  }

  request(request: ChunkRequest): void {
    this.requests.push(request);
  }

  /** The batch so far; the next starts empty. */
  take(): ChunkBatch {
    const batch = {
      scans: this.scans,
      paths: Buffer.concat(this.paths).toString('latin1'),
      requests: this.requests,
    };
    this.scans = [];
    this.paths = [];
    this.requests = [];
    return batch;
  }
}

/** The small files' scans of `batch`, their paths views of one buffer. */
function* scansOf(batch: ChunkBatch): Generator<ScanRequest> {
  const paths = Buffer.from(batch.paths, 'latin1');
  const { scans } = batch;
  let at = 0;
  for (let i = 0; i < scans.length; i += 5) {
    const length = scans[i + 4]!;
    yield {
      job: scans[i]!,
      size: scans[i + 1]!,
      mtimeNs: BigInt(scans[i + 2]!) * NS_PER_S + BigInt(scans[i + 3]!),
      path: paths.subarray(at, at + length),
    };
    at += length;
  }
}

/** A growing buffer the sealed chunks of small files are written to, then moved. */
class SealedWriter {
  private buffer = Buffer.alloc(0);
  private at = 0;
  heads: number[] = [];

  /** Room for `length` bytes at the end (see `SealOptions.alloc`). */
  readonly alloc = (length: number): Buffer => {
    if (this.at + length > this.buffer.length) {
      // What was written so far moves with it: callers only remember offsets.
      const bigger = Buffer.allocUnsafeSlow(
        Math.max(2 * this.buffer.length, this.at + length, WRITER_START),
      );
      this.buffer.copy(bigger, 0, 0, this.at);
      this.buffer = bigger;
    }
    this.at += length;
    return this.buffer.subarray(this.at - length, this.at);
  };

  /** Scans a small file into this writer; returns what must be answered as an object instead. */
  scan(chunker: FileChunker, request: ScanRequest): Scanned | FileFailure | undefined {
    const start = this.at;
    try {
      const scanned = chunker.scan(request, this.alloc);
      if ('code' in scanned || !scanned.sealed) {
        this.at = start;
        return scanned;
      }
      const { lengths, sealed } = scanned;
      this.alloc(scanned.ids.length).set(scanned.ids);
      this.heads.push(request.job, scanned.bytesRead, scanned.changed ? 1 : 0, lengths.length);
      for (let i = 0; i < lengths.length; i++) this.heads.push(lengths[i]!, sealed[i]!.length);
      return undefined;
    } catch (error) {
      this.at = start;
      throw error;
    }
  }

  /**
   * What was written since the last call, as memory of its own and of its exact size, and its
   * heads. Moving the writer's whole buffer instead left the walking thread several times as
   * many bytes to free, and V8 collects garbage sooner the more outside memory there is.
   */
  take(): [Uint8Array | undefined, number[]] {
    const heads = this.heads;
    this.heads = [];
    // Empty files have heads and no bytes: their answer still needs a (zero-length) buffer.
    if (heads.length === 0) return [undefined, heads];
    const taken = new Uint8Array(this.at);
    taken.set(this.buffer.subarray(0, this.at));
    this.at = 0;
    return [taken, heads];
  }
}

/** Answers batches on one FileChunker, as its thread does. */
export class ChunkServer {
  private readonly writer = new SealedWriter();

  constructor(
    private readonly chunker: FileChunker,
    private readonly repliesAtOnce: number,
  ) {}

  /** Answers `batch`, calling `post` with every `repliesAtOnce` files answered and at the end. */
  serve(batch: ChunkBatch, post: (answers: ChunkAnswers, transfer: ArrayBuffer[]) => void): void {
    const { chunker, writer, repliesAtOnce } = this;
    let replies: ChunkReply[] = [];
    let transfers = new Set<ArrayBuffer>();
    let answered = 0;
    const send = (): void => {
      const [sealed, heads] = writer.take();
      if (sealed) transfers.add(sealed.buffer as ArrayBuffer);
      if (answered > 0) post({ heads, sealed, replies }, [...transfers]);
      replies = [];
      transfers = new Set();
      answered = 0;
    };
    for (const request of scansOf(batch)) {
      try {
        const other = writer.scan(chunker, request);
        if (other) replies.push(segmentReply(other));
      } catch (error) {
        chunker.close(request.job);
        replies.push({ kind: 'error', job: request.job, message: (error as Error).message });
      }
      if (++answered >= repliesAtOnce) send();
    }
    for (const request of batch.requests) {
      const answers = answer(chunker, request);
      for (const [one, transfer] of answers) {
        replies.push(one);
        for (const buffer of transfer) transfers.add(buffer);
      }
      answered += answers.length;
      if (answered >= repliesAtOnce) send();
    }
    send();
  }
}

/** The replies packed in `answers` (see ChunkAnswers), then its others. */
export function* repliesOf(answers: ChunkAnswers): Generator<ChunkReply> {
  const { heads, sealed } = answers;
  let at = 0;
  for (let h = 0; h < heads.length;) {
    const job = heads[h++]!;
    const bytesRead = heads[h++]!;
    const changed = heads[h++] === 1;
    const count = heads[h++]!;
    const lengths: number[] = [];
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      lengths.push(heads[h++]!);
      const length = heads[h++]!;
      chunks.push(sealed!.subarray(at, at + length));
      at += length;
    }
    // A copy: ids live on in the file's refs, and a view would keep every sealed byte with them.
    const ids = Buffer.from(sealed!.subarray(at, at + count * ID_LENGTH));
    at += count * ID_LENGTH;
    yield { kind: 'scanned', job, ids, lengths, bytesRead, eof: true, sealed: chunks, changed };
  }
  yield* answers.replies;
}

function segmentReply(result: Scanned | FileFailure): ChunkReply {
  if ('code' in result) return { kind: 'failed', ...result };
  // Its own memory: ids may be a view of Node's shared pool, which would be cloned whole.
  return { kind: 'scanned', ...result, ids: new Uint8Array(result.ids) };
}

/** Runs one request on `chunker`; returns the replies with the memory each may transfer. */
export function answer(chunker: FileChunker, request: ChunkRequest): [ChunkReply, ArrayBuffer[]][] {
  try {
    switch (request.kind) {
      case 'scan': {
        const scanned = chunker.scan({ ...request, path: Buffer.from(request.path, 'latin1') });
        return [[segmentReply(scanned), 'sealed' in scanned ? transferable(scanned.sealed!) : []]];
      }
      case 'seal': {
        const [sealed, next] = chunker.seal(request.job, request.wanted);
        const replies: [ChunkReply, ArrayBuffer[]][] = [
          [{ kind: 'sealed', ...sealed }, transferable(sealed.sealed)],
        ];
        if (next) replies.push([segmentReply(next), []]);
        return replies;
      }
      case 'close':
        chunker.close(request.job);
        return [];
    }
  } catch (error) {
    chunker.close(request.job);
    return [[{ kind: 'error', job: request.job, message: (error as Error).message }, []]];
  }
}
