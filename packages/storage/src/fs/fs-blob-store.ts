/**
 * @module fs/fs-blob-store
 * A BlobStore on a local file system. Writes go to a temporary file that is fsynced, then
 * renamed (or linked, for ifAbsent) into place, and the directory is fsynced: a crash leaves
 * either the whole object or nothing.
 */
import { AlreadyExistsError, NotFoundError } from '@coffer/core';
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  chunksOf,
  InvalidRangeError,
  isNoSpace,
  StorageFullError,
  validateKey,
  type BlobInfo,
  type BlobStore,
  type PutOptions,
} from '../blob-store.js';

const TEMP_DIR = '.tmp';
const STALE_TEMP_MS = 3600 * 1000;
const WRITE_BATCH = 1024 * 1024;
/** Largest gap between two ranges of one getRanges that is read through rather than split. */
const MAX_READ_GAP = 64 * 1024;

async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/** Objects as files below `root`. */
export class FsBlobStore implements BlobStore {
  private cleaned = false;

  constructor(private readonly root: string) {}

  private path(key: string): string {
    validateKey(key);
    return join(this.root, key);
  }

  /** Removes temp files left by a crash (older than an hour, so live writes are safe). */
  private async cleanTemp(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    const dir = join(this.root, TEMP_DIR);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const path = join(dir, name);
      const st = await stat(path).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > STALE_TEMP_MS) await unlink(path).catch(() => undefined);
    }
  }

  /** @inheritdoc */
  async put(
    key: string,
    data: AsyncIterable<Uint8Array> | Uint8Array,
    options: PutOptions = {},
  ): Promise<{ size: number }> {
    try {
      return await this.write(key, data, options);
    } catch (error) {
      if (isNoSpace(error)) throw new StorageFullError(key, { cause: error });
      throw error;
    }
  }

  private async write(
    key: string,
    data: AsyncIterable<Uint8Array> | Uint8Array,
    options: PutOptions,
  ): Promise<{ size: number }> {
    const target = this.path(key);
    await this.cleanTemp();
    const tempDir = join(this.root, TEMP_DIR);
    await mkdir(tempDir, { recursive: true, mode: 0o700 });
    const temp = join(tempDir, `${randomBytes(12).toString('hex')}.part`);
    const handle = await open(temp, 'wx', 0o600);
    let size = 0;
    try {
      try {
        // Network streams arrive in small pieces: they are written a batch at a time with
        // writev, as a copy into one buffer would double the memory churn of an upload.
        let batch: Uint8Array[] = [];
        let batched = 0;
        const flush = async (): Promise<void> => {
          const parts = batch;
          batch = [];
          batched = 0;
          let { bytesWritten } = await handle.writev(parts);
          for (const part of parts) {
            // A short writev is rare; finish it one part at a time.
            if (bytesWritten >= part.length) {
              bytesWritten -= part.length;
              continue;
            }
            for (let done = bytesWritten; done < part.length;) {
              done += (await handle.write(part, done, part.length - done)).bytesWritten;
            }
            bytesWritten = 0;
          }
        };
        for await (const chunk of chunksOf(data)) {
          batch.push(chunk);
          batched += chunk.length;
          size += chunk.length;
          if (batched >= WRITE_BATCH) await flush();
        }
        if (batched > 0) await flush();
        await handle.sync();
      } finally {
        await handle.close();
      }
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      if (options.ifAbsent) {
        // link() fails with EEXIST atomically, so exactly one of racing writers wins.
        try {
          await link(temp, target);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EEXIST')
            throw new AlreadyExistsError(`${key} exists`);
          throw error;
        }
        await unlink(temp);
      } else {
        await rename(temp, target);
      }
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await fsyncDir(dirname(target));
    return { size };
  }

  /** @inheritdoc */
  async get(key: string): Promise<AsyncIterable<Buffer>> {
    const path = this.path(key);
    const handle = await open(path, 'r').catch((error: unknown) => {
      if (isNotFound(error)) throw new NotFoundError(`${key} not found`);
      throw error;
    });
    return handle.createReadStream({ highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>;
  }

  /** @inheritdoc */
  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    return this.getRanges(key, [[offset, length]]);
  }

  /** @inheritdoc */
  async getRanges(key: string, ranges: readonly (readonly [number, number])[]): Promise<Buffer> {
    const path = this.path(key);
    const handle = await open(path, 'r').catch((error: unknown) => {
      if (isNotFound(error)) throw new NotFoundError(`${key} not found`);
      throw error;
    });
    try {
      const { size } = await handle.stat();
      let total = 0;
      for (const [offset, length] of ranges) {
        if (offset < 0 || length < 0 || offset + length > size)
          throw new InvalidRangeError(key, offset, length, size);
        total += length;
      }
      const out = Buffer.allocUnsafe(total);
      const readFully = async (into: Buffer, at: number): Promise<void> => {
        for (let done = 0; done < into.length;) {
          const r = await handle.read(into, done, into.length - done, at + done);
          if (r.bytesRead === 0) throw new InvalidRangeError(key, at, into.length, at + done);
          done += r.bytesRead;
        }
      };
      let put = 0;
      for (let i = 0; i < ranges.length;) {
        // Ranges that follow one another closely are read in one go, gaps included: a read
        // costs more than the few kilobytes between two neighbouring trees.
        const first = ranges[i]![0];
        let end = first + ranges[i]![1];
        let j = i + 1;
        for (; j < ranges.length; j++) {
          const [offset, length] = ranges[j]!;
          if (offset < end || offset - end > MAX_READ_GAP) break;
          end = offset + length;
        }
        if (j === i + 1) {
          await readFully(out.subarray(put, put + end - first), first);
          put += end - first;
        } else {
          const span = Buffer.allocUnsafe(end - first);
          await readFully(span, first);
          for (const [offset, length] of ranges.slice(i, j)) {
            put += span.copy(out, put, offset - first, offset - first + length);
          }
        }
        i = j;
      }
      return out;
    } finally {
      await handle.close();
    }
  }

  /** @inheritdoc */
  async getBuffer(key: string): Promise<Buffer> {
    const info = await this.head(key);
    if (!info) throw new NotFoundError(`${key} not found`);
    return this.getRange(key, 0, info.size);
  }

  /** @inheritdoc */
  async head(key: string): Promise<BlobInfo | undefined> {
    const st = await stat(this.path(key)).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    return st?.isFile() ? { key, size: st.size, modified: st.mtime } : undefined;
  }

  /** @inheritdoc */
  async *list(prefix: string): AsyncIterable<BlobInfo> {
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    const walk = async function* (this: FsBlobStore, dir: string): AsyncGenerator<BlobInfo> {
      const names = await readdir(join(this.root, dir)).catch(() => [] as string[]);
      names.sort();
      for (const name of names) {
        if (dir === '' && name === TEMP_DIR) continue;
        const key = dir === '' ? name : `${dir}/${name}`;
        if (!key.startsWith(prefix) && !prefix.startsWith(`${key}/`)) continue;
        const st = await stat(join(this.root, key)).catch(() => undefined);
        if (!st) continue;
        if (st.isDirectory()) yield* walk.call(this, key);
        else if (key.startsWith(prefix)) yield { key, size: st.size, modified: st.mtime };
      }
    };
    yield* walk.call(this, base);
  }

  /** @inheritdoc */
  async delete(key: string): Promise<boolean> {
    try {
      await unlink(this.path(key));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }
}
