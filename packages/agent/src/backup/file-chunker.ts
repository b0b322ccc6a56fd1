/**
 * @module backup/file-chunker
 * Reads one file at a time, cuts it into chunks, hashes them, and seals the chunks it is asked
 * for. It runs on a worker thread (or inline when no worker is built), so reading, chunking,
 * hashing, compression and encryption all leave the walking thread. A file is handled in
 * segments; after each, the owner says which chunks are new, and only those are sealed.
 */
import {
  BlobType,
  blobId,
  cutMask,
  findCutPoint,
  gearTable,
  sealBlob,
  type ChunkerParams,
} from '@coffer/core';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  type BigIntStats,
} from 'node:fs';

/**
 * A file this small is one chunk, read into a buffer of its own size, and sealed as soon as it
 * is read: asking the walking thread first whether its chunk is new cost a second message each
 * way per file, more than sealing a small chunk that turns out to be known.
 */
export const SMALL_FILE = 64 * 1024;
/** Files smaller than this get their own buffer; larger ones share a few reused ones. */
const OWN_BUFFER = 256 * 1024;
/** Room beyond one maximum chunk in a stream buffer: the least read after a long tail. */
const STREAM_SLACK = 2 * 1024 * 1024;
const O_NOATIME = constants.O_NOATIME ?? 0;

export interface ChunkerKeys {
  encryptionKey: Uint8Array;
  idKey: Uint8Array;
  chunker: ChunkerParams;
}

/** A file to chunk, by its byte path and the size and mtime seen when it was listed. */
export interface ScanRequest {
  job: number;
  /** The path's bytes, so any name survives. */
  path: Buffer;
  size: number;
  mtimeNs: bigint;
}

/** The chunks of one segment: `ids` holds 32 bytes per chunk. */
export interface Scanned {
  job: number;
  /** Possibly a view of Node's shared pool: give it memory of its own to send it to a thread. */
  ids: Uint8Array;
  lengths: number[];
  bytesRead: number;
  /** True when the file is finished after this segment. */
  eof: boolean;
  /** A small file read whole comes sealed already (all its chunks) and closed (see SMALL_FILE). */
  sealed?: Uint8Array[];
  /** With `sealed`: whether size or mtime moved while the file was read. */
  changed?: boolean;
}

/** The sealed chunks of a segment the owner asked for, in `wanted` order. */
export interface Sealed {
  job: number;
  sealed: Uint8Array[];
  /** Set with the last segment: whether size or mtime moved while the file was read. */
  changed?: boolean;
}

/** A failure reading a file (an errno code), reported per file rather than thrown. */
export interface FileFailure {
  job: number;
  code: string;
  message: string;
}

interface OpenFile {
  fd: number;
  request: ScanRequest;
  /** The current segment: carried-over bytes followed by what was read. */
  buf: Buffer;
  /** Offsets, lengths and ids of this segment's chunks in `buf`. */
  starts: number[];
  lengths: number[];
  ids: Buffer[];
  /** End of the chunked part of `buf`; what follows is carried to the next segment. */
  cut: number;
  filled: number;
  eof: boolean;
}

/** How a path that is no longer a regular file fails. */
const NOT_REGULAR = { code: 'ENOTREG', message: 'it is no longer a regular file' } as const;

function isErrno(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}

/** Chunks, hashes and seals files for one keyring. */
export class FileChunker {
  private readonly gear: Int32Array;
  private readonly mask: number;
  private readonly sealKeys: { encryptionKey: Buffer };
  private readonly idKey: Buffer;
  private readonly params: ChunkerParams;
  private readonly files = new Map<number, OpenFile>();
  /** Length of the chunk an all-zero run yields, and its id: sparse regions skip the hot loop. */
  private readonly zeroLength: number;
  private readonly zeros: Buffer;
  private zeroId: Buffer | undefined;
  /** Reused segment buffers of `streamBufferSize` bytes. */
  private readonly spare: Buffer[] = [];
  private readonly streamBufferSize: number;
  /** Where a small file is read: its chunks are sealed before the next file is read. */
  private readonly scratch = Buffer.allocUnsafeSlow(SMALL_FILE + 1);

  constructor(keys: ChunkerKeys) {
    this.sealKeys = { encryptionKey: Buffer.from(keys.encryptionKey) };
    this.idKey = Buffer.from(keys.idKey);
    this.params = keys.chunker;
    this.gear = gearTable(this.idKey);
    this.mask = cutMask(this.params.avg);
    this.streamBufferSize = this.params.max + Math.max(STREAM_SLACK, this.params.min);
    this.zeros = Buffer.alloc(this.params.max);
    this.zeroLength = findCutPoint(this.gear, this.params, this.zeros, 0, this.zeros.length);
  }

  /**
   * Opens a file and chunks its first segment. A small file comes back sealed, each blob where
   * `alloc` puts it (see `SealOptions.alloc`).
   */
  scan(request: ScanRequest, alloc?: (length: number) => Buffer): Scanned | FileFailure {
    const { job } = request;
    // A small file is read into the scratch buffer and sealed before this returns; what it is
    // (a regular file still) and whether it changed while read, one fstat after the read tells.
    const small = request.size <= SMALL_FILE;
    let fd: number;
    try {
      fd = this.open(request.path, !small);
    } catch (error) {
      if (!isErrno(error)) throw error;
      return { job, code: error.code!, message: error.message };
    }
    const file: OpenFile = {
      fd,
      request,
      buf: small ? this.scratch.subarray(0, request.size + 1) : Buffer.alloc(0),
      starts: [],
      lengths: [],
      ids: [],
      cut: 0,
      filled: 0,
      eof: false,
    };
    this.files.set(job, file);
    const scanned = this.next(file);
    if (!small) return scanned;
    if ('code' in scanned) {
      // The read failed and closed the file: a directory or a FIFO in the file's place fails
      // this way (EISDIR, EAGAIN), and is reported as what it is.
      const now = lstatSync(request.path, { throwIfNoEntry: false });
      return now && !now.isFile() ? { job, ...NOT_REGULAR } : scanned;
    }
    let after: BigIntStats;
    try {
      after = fstatSync(fd, { bigint: true });
    } catch (error) {
      this.close(job);
      if (!isErrno(error)) throw error;
      return { job, code: error.code!, message: error.message };
    }
    if (!after.isFile()) {
      this.close(job);
      return { job, ...NOT_REGULAR };
    }
    if (!scanned.eof) {
      // It grew while read: the walking thread answers later, so it needs memory of its own.
      file.buf = Buffer.from(file.buf);
      return scanned;
    }
    const [sealed] = this.seal(
      job,
      scanned.lengths.map((_, i) => i),
      after,
      alloc,
    );
    return { ...scanned, sealed: sealed.sealed, changed: sealed.changed ?? false };
  }

  /** Opens `path` for reading; `checkRegular`: fails unless it is a regular file. */
  private open(path: Buffer, checkRegular: boolean): number {
    // O_NONBLOCK: if a FIFO took the file's place since it was listed, opening must not hang.
    const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
    let fd: number;
    try {
      fd = openSync(path, flags | O_NOATIME);
    } catch (error) {
      // O_NOATIME is only allowed on files the caller owns.
      if (O_NOATIME === 0 || (error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
      fd = openSync(path, flags);
    }
    if (checkRegular && !fstatSync(fd).isFile()) {
      closeSync(fd);
      throw Object.assign(new Error(NOT_REGULAR.message), { code: NOT_REGULAR.code });
    }
    return fd;
  }

  /** Reads and chunks the next segment of `file`. */
  private next(file: OpenFile): Scanned | FileFailure {
    const { job } = file.request;
    const carried = file.filled - file.cut;
    // A file up to the chunk maximum is read whole (one byte more shows whether it grew) and
    // cut in place; a larger one fills a stream buffer after the tail carried over from the
    // last segment, whose chunks are sealed by now, so the tail can move to the front. The
    // tail is shorter than `max`, so every segment decides at least one chunk.
    const first = file.filled === 0;
    if (first) {
      // A small file came with the scratch buffer (see scan).
      if (file.buf.length === 0) {
        file.buf = this.buffer(
          file.request.size <= this.params.max ? file.request.size + 1 : this.streamBufferSize,
        );
      }
    } else if (file.buf.length < this.streamBufferSize) {
      // A small file that grew while it was read goes on in a stream buffer.
      const bigger = this.buffer(this.streamBufferSize);
      file.buf.copy(bigger, 0, file.cut, file.filled);
      file.buf = bigger;
    } else if (carried > 0) file.buf.copyWithin(0, file.cut, file.filled);
    const readSize = file.buf.length - carried;
    const buf = file.buf;
    let filled = carried;
    try {
      while (filled < carried + readSize) {
        const n = readSync(file.fd, buf, filled, carried + readSize - filled, null);
        if (n === 0) {
          file.eof = true;
          break;
        }
        filled += n;
        // A small file that held its listed size when read is done: a read to see the end
        // costs a system call per file, and growth after this read shows in the fstat that
        // follows (the file is reported as changed).
        if (first && filled === file.request.size && buf.length === filled + 1) {
          file.eof = true;
          break;
        }
      }
    } catch (error) {
      this.close(job);
      if (!isErrno(error)) throw error;
      return { job, code: error.code!, message: error.message };
    }
    file.filled = filled;
    return this.chunk(file, filled - carried);
  }

  /** Cuts the complete chunks of the current segment and hashes them. */
  private chunk(file: OpenFile, bytesRead: number): Scanned {
    const { buf, filled } = file;
    const { max } = this.params;
    const starts: number[] = [];
    const lengths: number[] = [];
    const ids: Buffer[] = [];
    let at = 0;
    while (at < filled) {
      let length: number;
      let id: Buffer;
      if (
        filled - at >= this.zeroLength &&
        buf.compare(this.zeros, 0, this.zeroLength, at, at + this.zeroLength) === 0
      ) {
        length = this.zeroLength;
        this.zeroId ??= blobId(this.idKey, this.zeros.subarray(0, this.zeroLength));
        id = this.zeroId;
      } else {
        length = findCutPoint(this.gear, this.params, buf, at, filled, this.mask);
        // Before the end of the file, a chunk that reaches the end of what was read may not be
        // finished: it is carried into the next segment and cut again there.
        if (!file.eof && length === filled - at && length < max) break;
        id = blobId(this.idKey, buf.subarray(at, at + length));
      }
      starts.push(at);
      lengths.push(length);
      ids.push(id);
      at += length;
    }
    file.starts = starts;
    file.lengths = lengths;
    file.ids = ids;
    file.cut = at;
    return {
      job: file.request.job,
      ids: Buffer.concat(ids),
      lengths,
      bytesRead,
      eof: file.eof,
    };
  }

  /**
   * Seals the chunks at `wanted` (indexes into the last segment's chunks), then moves on:
   * returns the sealed chunks and, unless the file is finished, its next segment. `stat`: the
   * file's fstat after its last read, when the caller took it already; `alloc`: where each
   * sealed chunk goes (see `SealOptions.alloc`).
   */
  seal(
    job: number,
    wanted: readonly number[],
    stat?: BigIntStats,
    alloc?: (length: number) => Buffer,
  ): [Sealed, (Scanned | FileFailure)?] {
    const file = this.files.get(job);
    if (!file) throw new Error(`file job ${job} is not open`);
    const sealed = wanted.map((index) => {
      const start = file.starts[index]!;
      const length = file.lengths[index]!;
      const plaintext = file.buf.subarray(start, start + length);
      return sealBlob(this.sealKeys, BlobType.data, file.ids[index]!, plaintext, { alloc });
    });
    if (!file.eof) return [{ job, sealed }, this.next(file)];
    let changed = false;
    try {
      const after = stat ?? fstatSync(file.fd, { bigint: true });
      changed = Number(after.size) !== file.request.size || after.mtimeNs !== file.request.mtimeNs;
    } finally {
      this.close(job);
    }
    return [{ job, sealed, changed }];
  }

  /** A buffer for a file's segments: its own for a small file, else a reused one. */
  private buffer(size: number): Buffer {
    if (size < OWN_BUFFER) return Buffer.allocUnsafe(size);
    return this.spare.pop() ?? Buffer.allocUnsafeSlow(this.streamBufferSize);
  }

  /** Forgets a file (after a failure or when the owner gives up on it). */
  close(job: number): void {
    const file = this.files.get(job);
    if (!file) return;
    this.files.delete(job);
    closeSync(file.fd);
    if (file.buf.length === this.streamBufferSize && this.spare.length < 2) {
      this.spare.push(file.buf);
    }
  }
}
