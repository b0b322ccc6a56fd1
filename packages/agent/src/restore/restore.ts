/**
 * @module restore/restore
 * Restores a recovery point, or parts of it, into a target directory. Every path is built from
 * validated entry names below the target, directories are entered only when they are real
 * directories (never through a symlink), and files are written under a temporary name and
 * renamed into place, so a restore never writes outside its target or leaves half a file. A
 * directory the restore makes is made under a temporary name, filled (its subdirectories too)
 * and then renamed into place; inside it, files are written under their own names.
 */
import {
  BlobType,
  EntryType,
  decodeManifest,
  decodeTree,
  idHex,
  type Manifest,
  type MasterKeys,
  type TreeEntry,
} from '@coffer/core';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import {
  chmod,
  lchown,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  symlink,
  unlink,
  type FileHandle,
} from 'node:fs/promises';
import { MissingBlobError, type BlobReader } from '../client/blob-reader.js';
import { CofferError } from '@coffer/core';
import { setTimes } from '@coffer/fs-times';
import { CancelledError, throwIfCancelled } from '../cancelled.js';
import { ByteBudget, Limiter } from '../limiter.js';
import { transferable, WorkerTasks } from '../worker-tasks.js';
import { writeBatch, type WriteBatch, type WriteOutcome } from './file-writer.js';
import { ContentComparer } from './same-content.js';

export type ConflictMode = 'overwrite' | 'skip' | 'keep-both';

export interface RestoreOptions {
  reader: BlobReader;
  pointId: string;
  target: string;
  /** Paths inside the point (absolute, as backed up) to restore; default everything. */
  paths?: readonly string[];
  conflict: ConflictMode;
  /**
   * Create device nodes and keep set-uid/set-gid bits of files, as the point recorded them.
   * Right when restoring a system in place; off by default, so that a restore of what another
   * machine backed up cannot plant a device node or a set-uid program (docs/security.md).
   */
  specialFiles?: boolean;
  /** The keyring's keys: with them keep-both leaves a file alone that already holds the same. */
  keys?: MasterKeys;
  /** Files written at once. */
  concurrency?: number;
  onWarning?(warning: { path: string; message: string }): void;
  /** Cancels the restore: it stops with a CancelledError; files written so far stay. */
  signal?: AbortSignal;
}

export interface RestoreStats {
  files: number;
  directories: number;
  otherEntries: number;
  bytes: number;
  skipped: number;
  /** Files in the way that already held the same content (keep-both leaves them). */
  identical: number;
  /** Device nodes not created (specialFiles off). */
  devicesSkipped: number;
  /** Files restored without the set-uid/set-gid bits they had (specialFiles off). */
  setIdCleared: number;
  warnings: number;
}

export interface RestoreProgress {
  files: number;
  bytesDone: number;
  bytesTotal: number | undefined;
  currentPath: string;
}

const SLASH = Buffer.from('/');
/** Files up to this size are restored in batches whose blobs are fetched together. */
const SMALL_FILE = 1024 * 1024;
const PREFETCH_BYTES = 32 * 1024 * 1024;
/**
 * Groups of directories (see DIRECTORY_GROUP) restored side by side in the whole tree. A window
 * per directory alone let 8^depth of them run at once, each with its tree and its prefetched
 * blobs (up to 961 MiB for 100,000 small files); past this, a group is restored in turn by the
 * group above it. Each group is a chain of waits (its directories, its trees, its blobs, its
 * writes): with 4 a 300,000-file restore left the CPUs idle a third of the time and took 29 s;
 * with 8 it took 20 s and 60 MiB more at its peak; 16 was no faster.
 */
const GROUPS_AT_ONCE = 8;
/**
 * Sibling (and cousin) directories whose trees are read, and whose blobs are located, in one
 * request each. Per directory, a tree of 16 small files cost three requests.
 */
const DIRECTORY_GROUP = 32;
/** Plaintext of small files fetched and not yet written, over the whole restore. */
const PREFETCH_BUDGET = 64 * 1024 * 1024;
const isRoot = process.getuid?.() === 0;

/** Splits an absolute or relative path inside a point into its names. */
export function pathNames(path: string): Buffer[] {
  return path
    .split('/')
    .filter((p) => p.length > 0 && p !== '.')
    .map((p) => {
      if (p === '..') throw new CofferError('USAGE', `--path ${path}: '..' is not allowed`);
      return Buffer.from(p);
    });
}

function join(dir: Buffer, name: Buffer): Buffer {
  return Buffer.concat([dir, SLASH, name]);
}

function show(path: Buffer): string {
  return path.toString('utf8');
}

/** An entry and the directory (on disk) it is restored into. */
interface InDirectory {
  entry: TreeEntry;
  dir: Buffer;
}

/** A file small enough to restore in a batch with others (see SMALL_FILE). */
type SmallFile = InDirectory;

/** Decodes a tree; a tree that does not decode is returned as the error. */
function decodeOrError(plaintext: Buffer): TreeEntry[] | Error {
  try {
    return decodeTree(plaintext);
  } catch (error) {
    if (error instanceof CofferError && !error.transient) return error;
    throw error;
  }
}

/** The names of this program's temporary files and directories (see TempNames). */
const TEMP_NAME = /^\.coffer-restore-[0-9a-f]{12}$/;
const TEMP_MARK = '/.coffer-restore-';
const TEMP_MARK_AND_DIGITS = TEMP_MARK.length + 12;
const TEMP_SPACE = 2 ** 48;

/**
 * Temporary names for one restore: a random start, then counting, so names never repeat within
 * a run and two runs are unlikely to meet (O_EXCL catches it if they do). Random bytes per file
 * cost 4 µs each.
 */
class TempNames {
  private next = randomBytes(6).readUIntBE(0, 6);

  /** A fresh name. */
  name(): string {
    const n = this.next;
    this.next = (n + 1) % TEMP_SPACE;
    return `.coffer-restore-${n.toString(16).padStart(12, '0')}`;
  }

  /** A fresh name in the directory of `path`. */
  beside(path: Buffer): Buffer {
    return Buffer.concat([path.subarray(0, path.lastIndexOf(SLASH) + 1), Buffer.from(this.name())]);
  }
}

/** `parts` joined in memory of their own (which can move to another thread). */
function concatOwned(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function parentOf(path: Buffer): Buffer {
  return path.subarray(0, path.lastIndexOf(SLASH));
}

/** One restore run. */
export class Restore {
  readonly progress: RestoreProgress = {
    files: 0,
    bytesDone: 0,
    bytesTotal: undefined,
    currentPath: '',
  };
  readonly stats: RestoreStats = {
    files: 0,
    directories: 0,
    otherEntries: 0,
    bytes: 0,
    skipped: 0,
    identical: 0,
    devicesSkipped: 0,
    setIdCleared: 0,
    warnings: 0,
  };
  private readonly limiter: Limiter;
  /** Groups of directories being restored now (see GROUPS_AT_ONCE). */
  private openGroups = 0;
  /** Bounds the small files' plaintext in memory: readers wait for the writing threads. */
  private readonly prefetch = new ByteBudget(PREFETCH_BUDGET);
  /** Where the first of each hard-linked file went (a promise: files restore in parallel). */
  private readonly links = new Map<string, Promise<Buffer | undefined>>();
  /** Directories this run created (latin1 keys) while they are being filled: nothing to clash with. */
  private readonly fresh = new Set<string>();
  /**
   * Directories this run made that are not in place yet (latin1 keys): made under a temporary
   * name, or inside one. Their files are written under their own names.
   */
  private readonly hidden = new Set<string>();
  /** Directories made under a temporary name (latin1 keys): their final path, once in place. */
  private readonly moved = new Map<string, { final: Buffer; inPlace: boolean }>();
  private readonly writers = new WorkerTasks<WriteBatch, WriteOutcome[]>(
    new URL('./write-worker.js', import.meta.url),
    undefined,
    writeBatch,
  );
  private readonly comparer: ContentComparer | undefined;
  private readonly temps = new TempNames();
  manifest: Manifest | undefined;

  constructor(private readonly options: RestoreOptions) {
    this.limiter = new Limiter(options.concurrency ?? 4);
    if (options.keys && options.conflict === 'keep-both') {
      this.comparer = new ContentComparer(options.keys);
    }
  }

  private warn(path: Buffer, message: string): void {
    this.stats.warnings++;
    this.options.onWarning?.({ path: show(this.whereNow(path, true)), message });
  }

  /**
   * Where `path` is now, after its directory was renamed into place (or, `final`, where it will
   * be): the path below a directory made under a temporary name. Such a name occurs at most once
   * in a path, as nothing inside it is made under one.
   */
  private whereNow(path: Buffer, final = false): Buffer {
    if (this.moved.size === 0) return path;
    const text = path.toString('latin1');
    for (let at = text.indexOf(TEMP_MARK); at >= 0; at = text.indexOf(TEMP_MARK, at + 1)) {
      const end = at + TEMP_MARK_AND_DIGITS;
      const move = this.moved.get(text.slice(0, end));
      if (move && (final || move.inPlace)) return Buffer.concat([move.final, path.subarray(end)]);
    }
    return path;
  }

  private async tree(id: Buffer): Promise<TreeEntry[]> {
    return decodeTree(await this.options.reader.read(idHex(id), BlobType.tree));
  }

  /** Runs the restore. */
  async run(): Promise<RestoreStats> {
    const { reader, pointId } = this.options;
    this.manifest = decodeManifest(await reader.read(pointId, BlobType.manifest));
    const target = Buffer.from(this.options.target.replace(/\/+$/, '') || '/');
    await mkdir(target, { recursive: true });
    await this.removeStaleTemps(target);
    const root = await this.tree(this.manifest.tree);
    const selections = (this.options.paths ?? ['/']).map(pathNames);
    for (const names of selections) {
      if (names.length === 0) {
        await this.restoreEntries(root, target);
        continue;
      }
      // Walk down to the selected entry, creating the directories on the way.
      let entries = root;
      let dir: Buffer = target;
      for (let i = 0; i < names.length; i++) {
        const entry = entries.find((e) => e.name.equals(names[i]!));
        if (!entry) {
          throw new CofferError(
            'NOT_FOUND',
            `${'/' + names.map(show).join('/')} is not in this recovery point`,
          );
        }
        if (i === names.length - 1) {
          await this.restoreEntry(entry, dir).catch((error: unknown) =>
            this.warnOrThrow(join(dir, entry.name), error),
          );
          break;
        }
        if (entry.type !== EntryType.directory || !entry.subtree) {
          throw new CofferError(
            'NOT_FOUND',
            `${show(entry.name)} is not a directory in this point`,
          );
        }
        const where = await this.directory(join(dir, entry.name), false);
        if (!where) return this.stats;
        dir = where.real;
        entries = await this.tree(entry.subtree);
      }
    }
    return this.stats;
  }

  /** Restores the entries of directory `dir` (the target or a selected directory). */
  private restoreEntries(entries: TreeEntry[], dir: Buffer): Promise<void> {
    return this.fillDirectories([{ real: dir, entries }]);
  }

  /**
   * Fills directories that were read together: their blobs are located in one request, their
   * small files fetched together, and their subdirectories restored in groups, so a tree of
   * many small directories costs a few requests per group of directories rather than per
   * directory.
   */
  private async fillDirectories(dirs: { real: Buffer; entries: TreeEntry[] }[]): Promise<void> {
    const { reader } = this.options;
    // Subtrees are located with the content, so reading them later costs one request a group.
    // Missing blobs are reported per file, where they are found.
    const ids = dirs.flatMap(({ entries }) =>
      entries.flatMap((e) => [
        ...(e.content ?? []).map((c) => idHex(c.id)),
        ...(e.subtree ? [idHex(e.subtree)] : []),
      ]),
    );
    // Held until these directories are done, subdirectories included: then forgotten, so the
    // restore's memory does not grow with the number of blobs.
    reader.hold(ids);
    try {
      await reader.locate(ids);
      await this.restoreLocated(dirs);
    } finally {
      reader.release(ids);
    }
  }

  private async restoreLocated(dirs: { real: Buffer; entries: TreeEntry[] }[]): Promise<void> {
    // Every task started here is awaited before this returns or throws, so nothing reads from
    // the vault after the caller closes its client.
    const started: Promise<void>[] = [];
    const start = (task: Promise<void>): Promise<void> => {
      // Awaited below; this only keeps a failure from counting as unhandled meanwhile.
      task.catch(() => undefined);
      started.push(task);
      return task;
    };
    let batch: SmallFile[] = [];
    let batchBytes = 0;
    const subdirectories: InDirectory[] = [];
    try {
      for (const { real: dir, entries } of dirs) {
        for (const entry of entries) {
          if (entry.type === EntryType.file && entry.size <= SMALL_FILE && entry.links <= 1) {
            batch.push({ entry, dir });
            batchBytes += entry.size;
            if (batchBytes >= PREFETCH_BYTES) {
              await this.restoreSmallFiles(batch);
              batch = [];
              batchBytes = 0;
            }
          } else if (entry.type === EntryType.file) {
            await this.limiter.acquire();
            void start(
              this.restoreEntry(entry, dir)
                .catch((error: unknown) => this.warnOrThrow(join(dir, entry.name), error))
                .finally(() => this.limiter.release()),
            );
          } else if (entry.type === EntryType.directory) {
            subdirectories.push({ entry, dir });
          } else {
            await this.restoreEntry(entry, dir);
          }
        }
      }
      await this.restoreSmallFiles(batch);
      for (let i = 0; i < subdirectories.length; i += DIRECTORY_GROUP) {
        const group = subdirectories.slice(i, i + DIRECTORY_GROUP);
        // Groups restore side by side, so their requests to the vault overlap.
        if (this.openGroups < GROUPS_AT_ONCE) void start(this.restoreDirectories(group));
        else await this.restoreDirectories(group);
      }
    } catch (error) {
      await Promise.allSettled(started);
      throw error;
    }
    const settled = await Promise.allSettled(started);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /**
   * Restores directories (each an entry and the directory it goes in): makes them, reads their
   * trees in one request, fills them, then sets their metadata, last, so their times stay.
   */
  private async restoreDirectories(group: InDirectory[]): Promise<void> {
    throwIfCancelled(this.options.signal, 'restore');
    const made: { entry: TreeEntry; path: Buffer; real: Buffer; final: Buffer }[] = [];
    for (const { entry, dir } of group) {
      const path = join(dir, entry.name);
      this.progress.currentPath = show(this.whereNow(path, true));
      const where = await this.directory(path, true);
      if (!where) continue;
      this.stats.directories++;
      made.push({ entry, path, ...where });
    }
    this.openGroups++;
    try {
      const trees = await this.trees(made.flatMap(({ entry }) => entry.subtree ?? []));
      const dirs = made.map(({ entry, path, real }) => {
        const tree = entry.subtree ? trees.get(idHex(entry.subtree))! : [];
        if (!(tree instanceof Error)) return { real, entries: tree };
        this.warn(path, `its contents were not restored: ${tree.message}`);
        return { real, entries: [] };
      });
      await this.fillDirectories(dirs);
    } finally {
      this.openGroups--;
      for (const { real } of made) {
        this.fresh.delete(real.toString('latin1'));
        this.hidden.delete(real.toString('latin1'));
      }
      // Even after a failure: every file written so far is whole, and stays.
      for (const { real, final } of made) if (real !== final) await this.putInPlace(real, final);
    }
    for (const { entry, final } of made) await this.metadata(final, entry);
  }

  /** Renames directory `real`, made under a temporary name and filled, to `final`. */
  private async putInPlace(real: Buffer, final: Buffer): Promise<void> {
    try {
      await rename(real, final);
      this.moved.get(real.toString('latin1'))!.inPlace = true;
    } catch (error) {
      this.warn(
        final,
        `restored as ${show(real)}, which a later restore removes: cannot rename it into place (${(error as Error).message})`,
      );
    }
  }

  /**
   * Reads and decodes trees together (sparse ranged reads, a few requests for a whole group).
   * A tree that cannot be read or decoded is an error in the answer; a vault that cannot be
   * reached throws.
   */
  private async trees(ids: Buffer[]): Promise<Map<string, TreeEntry[] | Error>> {
    const { reader } = this.options;
    const hexes = [...new Set(ids.map(idHex))];
    const out = new Map<string, TreeEntry[] | Error>();
    reader.hold(hexes);
    try {
      const missing = await reader.locate(hexes);
      for (const hex of missing) out.set(hex, new MissingBlobError(hex));
      await reader.readInOrder(
        reader.inStorageOrder(hexes),
        BlobType.tree,
        (hex, plaintext) => {
          out.set(hex, plaintext instanceof Error ? plaintext : decodeOrError(plaintext));
        },
        { sparse: true },
      );
    } finally {
      reader.release(hexes);
    }
    return out;
  }

  /**
   * A file or directory that could not be restored is a warning; a vault that is down, or a
   * cancelled restore, is not.
   */
  private warnOrThrow(path: Buffer, error: unknown): void {
    if (!(error instanceof CofferError) || error.transient || error instanceof CancelledError) {
      throw error;
    }
    this.warn(path, error.message);
  }

  /**
   * Restores small files together: their blobs are fetched in a few coalesced ranged reads
   * (sorted by where they are stored) instead of one request per file.
   */
  private async restoreSmallFiles(files: SmallFile[]): Promise<void> {
    if (files.length === 0) return;
    throwIfCancelled(this.options.signal, 'restore');
    const bytes = files.reduce((sum, { entry }) => sum + entry.size, 0);
    await this.prefetch.acquire(bytes);
    try {
      await this.fetchAndWriteSmallFiles(files);
    } finally {
      this.prefetch.release(bytes);
    }
  }

  private async fetchAndWriteSmallFiles(files: SmallFile[]): Promise<void> {
    const { reader } = this.options;
    const ids = reader.inStorageOrder([
      ...new Set(files.flatMap(({ entry }) => (entry.content ?? []).map((c) => idHex(c.id)))),
    ]);
    const prefetched = new Map<string, Buffer | Error>();
    await reader.readInOrder(ids, BlobType.data, (hex, plaintext) => {
      prefetched.set(hex, plaintext);
    });
    // Two batches, so that both writing threads work; each carries only its own plaintexts.
    const batches = [0, 1].map(() => ({
      batch: { plaintexts: [], paths: new Uint8Array(), files: [], chown: isRoot } as WriteBatch,
      index: new Map<string, number>(),
      paths: [] as Buffer[],
      dests: [] as Buffer[],
      pathBytes: 0,
      bytes: 0,
    }));
    // Files come directory by directory: whether one is in place yet is looked up once for each.
    let lastDir: Buffer | undefined;
    let inHidden = false;
    for (const { entry, dir } of files) {
      if (dir !== lastDir) {
        lastDir = dir;
        inHidden = this.hidden.has(dir.toString('latin1'));
      }
      const path = join(dir, entry.name);
      const hexes = (entry.content ?? []).map((c) => idHex(c.id));
      const plaintexts = hexes.map((hex) => prefetched.get(hex));
      // findIndex, not find: a blob the vault lacks is an undefined element.
      const unusable = plaintexts.findIndex((p) => !(p instanceof Buffer));
      if (unusable >= 0) {
        const failure = plaintexts[unusable];
        this.warn(
          path,
          failure instanceof Error
            ? `not restored: ${failure.message}`
            : `not restored: blob ${hexes[unusable]} is missing from the vault`,
        );
        continue;
      }
      const target = await this.destination(path, entry);
      if (!target) continue;
      const job = batches[0]!.bytes <= batches[1]!.bytes ? batches[0]! : batches[1]!;
      const parts = hexes.map((hex, i) => {
        let at = job.index.get(hex);
        if (at === undefined) {
          at = job.batch.plaintexts.push(plaintexts[i] as Buffer) - 1;
          job.index.set(hex, at);
        }
        return at;
      });
      job.pathBytes += target.dest.length;
      job.batch.files.push({
        pathEnd: job.pathBytes,
        tempName: inHidden ? undefined : this.temps.name(),
        parts,
        size: entry.size,
        mode: this.modeOf(entry),
        uid: entry.uid,
        gid: entry.gid,
        mtimeNs: entry.mtimeNs,
        replaceDirectory: target.replaceDirectory,
      });
      job.paths.push(path);
      job.dests.push(target.dest);
      job.bytes += entry.size;
    }
    await Promise.all(
      batches.map(async ({ batch, paths, dests, pathBytes }) => {
        if (batch.files.length === 0) return;
        batch.paths = concatOwned(dests, pathBytes);
        // Plaintexts move to the writing thread unless the other batch uses them too.
        const shared = new Set(
          batches.flatMap((b) => (b.batch === batch ? [] : b.batch.plaintexts)),
        );
        const outcomes = await this.writers.run(batch, [
          ...transferable(batch.plaintexts.filter((p) => !shared.has(p))),
          batch.paths.buffer as ArrayBuffer,
        ]);
        outcomes.forEach((outcome, i) => {
          if (!outcome.ok) return this.warn(paths[i]!, outcome.error);
          if (outcome.warning) this.warn(paths[i]!, outcome.warning);
          const size = batch.files[i]!.size;
          this.stats.files++;
          this.stats.bytes += size;
          this.progress.files++;
          this.progress.bytesDone += size;
        });
      }),
    );
  }

  private async restoreEntry(entry: TreeEntry, dir: Buffer): Promise<void> {
    throwIfCancelled(this.options.signal, 'restore');
    const path = join(dir, entry.name);
    this.progress.currentPath = show(path);
    switch (entry.type) {
      case EntryType.directory:
        return this.restoreDirectories([{ entry, dir }]);
      case EntryType.file:
        return this.file(entry, path);
      case EntryType.symlink: {
        const dest = await this.claim(path);
        if (!dest) return;
        await symlink(entry.linkTarget ?? Buffer.alloc(0), dest);
        this.stats.otherEntries++;
        await this.metadata(dest, entry);
        return;
      }
      default:
        return this.special(entry, path);
    }
  }

  /**
   * Makes `path` a real directory (merging into one that exists). Returns the directory to
   * fill (`real`) and where it ends up (`final`), or undefined when the conflict mode skips it.
   * With `hide`, a new directory is made under a temporary name beside `final` (unless its
   * parent is not in place yet either); the caller renames it into place once it is filled.
   */
  private async directory(
    path: Buffer,
    hide: boolean,
  ): Promise<{ real: Buffer; final: Buffer } | undefined> {
    const parentHidden = this.hidden.has(parentOf(path).toString('latin1'));
    const st = parentHidden ? undefined : await lstat(path).catch(() => undefined);
    if (st?.isDirectory()) {
      await this.removeStaleTemps(path);
      return { real: path, final: path };
    }
    if (st) {
      if (this.options.conflict === 'skip') {
        this.stats.skipped++;
        return undefined;
      }
      if (this.options.conflict === 'overwrite') await rm(path, { force: true });
      else path = await this.freeName(path);
    }
    const real = hide && !parentHidden ? this.temps.beside(path) : path;
    await mkdir(real, { mode: 0o700 });
    const key = real.toString('latin1');
    this.fresh.add(key);
    if (hide) this.hidden.add(key);
    if (real !== path) this.moved.set(key, { final: path, inPlace: false });
    return { real, final: path };
  }

  /**
   * Removes what a killed earlier restore left in a directory this run writes into: only what
   * is named like this program's own temporary files and directories. Two restores into the
   * same directory at once are not supported.
   */
  private async removeStaleTemps(dir: Buffer): Promise<void> {
    let names: Buffer[];
    try {
      names = await readdir(dir, { encoding: 'buffer' });
    } catch {
      return;
    }
    for (const name of names) {
      if (!TEMP_NAME.test(name.toString('latin1'))) continue;
      const path = join(dir, name);
      await rm(path, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** The name to write a non-directory at, resolving a conflict; undefined to skip. */
  private async claim(path: Buffer): Promise<Buffer | undefined> {
    const st = await lstat(path).catch(() => undefined);
    if (!st) return path;
    if (this.options.conflict === 'skip') {
      this.stats.skipped++;
      return undefined;
    }
    if (this.options.conflict === 'keep-both') return this.freeName(path);
    await rm(path, { recursive: st.isDirectory(), force: true });
    return path;
  }

  private async freeName(path: Buffer): Promise<Buffer> {
    for (let n = 1; ; n++) {
      const candidate = Buffer.concat([
        path,
        Buffer.from(n === 1 ? '.restored' : `.restored-${n}`),
      ]);
      if (!(await lstat(candidate).catch(() => undefined))) return candidate;
    }
  }

  private async file(entry: TreeEntry, path: Buffer): Promise<void> {
    const linkKey = entry.links > 1 ? `${entry.device}:${entry.inode}` : undefined;
    const first = linkKey ? this.links.get(linkKey) : undefined;
    if (first) {
      const firstPath = await first;
      if (firstPath) {
        const dest = await this.claim(path);
        if (!dest) return;
        await link(this.whereNow(firstPath), dest);
        this.stats.files++;
        return;
      }
    }
    if (!linkKey) {
      await this.writeFile(entry, path);
      return;
    }
    let settle!: (path: Buffer | undefined) => void;
    this.links.set(linkKey, new Promise((resolve) => (settle = resolve)));
    try {
      settle(await this.writeFile(entry, path));
    } catch (error) {
      settle(undefined);
      throw error;
    }
  }

  /**
   * Where a non-directory restored at `path` goes under the conflict mode: `path` itself, or a
   * free name beside it; undefined to skip it. In a directory this run created, nothing clashes.
   */
  private async destination(
    path: Buffer,
    entry: TreeEntry,
  ): Promise<{ dest: Buffer; replaceDirectory: boolean } | undefined> {
    if (this.fresh.has(parentOf(path).toString('latin1')))
      return { dest: path, replaceDirectory: false };
    const existing = await lstat(path).catch(() => undefined);
    if (existing && this.options.conflict === 'skip') {
      this.stats.skipped++;
      return undefined;
    }
    if (existing?.isFile() && this.comparer && (await this.comparer.same(path, entry))) {
      this.stats.identical++;
      return undefined;
    }
    const dest =
      existing && this.options.conflict === 'keep-both' ? await this.freeName(path) : path;
    return { dest, replaceDirectory: !!existing?.isDirectory() && dest === path };
  }

  /** Writes one file; returns where it went, or undefined when skipped. */
  private async writeFile(entry: TreeEntry, path: Buffer): Promise<Buffer | undefined> {
    const target = await this.destination(path, entry);
    if (!target) return undefined;
    const temp = this.temps.beside(path);
    const handle = await open(
      temp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    try {
      await this.writeContent(entry, handle);
      await handle.close();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await this.metadata(temp, entry);
    if (target.replaceDirectory) await rm(target.dest, { recursive: true, force: true });
    await rename(temp, target.dest);
    this.stats.files++;
    this.stats.bytes += entry.size;
    this.progress.files++;
    return target.dest;
  }

  private async writeContent(entry: TreeEntry, handle: FileHandle): Promise<void> {
    // Each blob is fetched once and written by the thread that opens it, at every place it
    // occurs (a sparse region cut into identical zero chunks is one blob).
    const positions = new Map<string, number[]>();
    const lengths = new Map<string, number>();
    let position = 0;
    for (const ref of entry.content ?? []) {
      const hex = idHex(ref.id);
      lengths.set(hex, ref.length);
      const at = positions.get(hex);
      if (at) at.push(position);
      else positions.set(hex, [position]);
      position += ref.length;
    }
    if (position !== entry.size) {
      throw new CofferError(
        'RESTORE_DAMAGED',
        `not restored: its content adds up to ${position} bytes, not ${entry.size}`,
      );
    }
    const missing = await this.options.reader.locate([...positions.keys()]);
    if (missing.length > 0) {
      throw new CofferError(
        'RESTORE_DAMAGED',
        `not restored: ${missing.length} of its blob(s) are missing from the vault`,
      );
    }
    await this.options.reader.readInOrder(
      [...positions.keys()],
      BlobType.data,
      (hex, opened) => {
        throwIfCancelled(this.options.signal, 'restore');
        if (opened instanceof CofferError && opened.code === 'RESTORE_WRITE_FAILED') {
          throw new CofferError(opened.code, `not restored: ${opened.message}`);
        }
        if (opened instanceof Error) {
          throw new CofferError('RESTORE_DAMAGED', `not restored: ${opened.message}`);
        }
        if (opened !== lengths.get(hex)) {
          throw new CofferError(
            'RESTORE_DAMAGED',
            `not restored: blob ${hex} holds ${opened} bytes, the directory says ${lengths.get(hex)}`,
          );
        }
        this.progress.bytesDone += opened * positions.get(hex)!.length;
      },
      { keep: false, writeTo: (hex) => ({ fd: handle.fd, positions: positions.get(hex)! }) },
    );
    await handle.truncate(entry.size);
  }

  private async special(entry: TreeEntry, path: Buffer): Promise<void> {
    if (this.refusesDevice(entry)) return;
    const dest = await this.claim(path);
    if (!dest) return;
    // Node has no mkfifo/mknod: make it under a plain temporary name, then rename it.
    const temp = this.temps.beside(dest).toString('latin1');
    const args =
      entry.type === EntryType.fifo
        ? ['mkfifo', '-m', '600', temp]
        : [
            'mknod',
            '-m',
            '600',
            temp,
            entry.type === EntryType.charDevice ? 'c' : 'b',
            String(Math.floor(entry.rdev / 0x100) & 0xfff),
            String((entry.rdev & 0xff) | (Math.floor(entry.rdev / 0x1000) & 0xfff00)),
          ];
    if (entry.type === EntryType.socket) {
      this.warn(path, 'sockets are not restored');
      return;
    }
    const result = spawnSync(args[0]!, args.slice(1), { stdio: 'pipe' });
    if (result.status !== 0) {
      this.warn(
        path,
        `cannot create it: ${result.stderr.toString().trim() || result.error?.message}`,
      );
      return;
    }
    await rename(Buffer.from(temp, 'latin1'), dest);
    this.stats.otherEntries++;
    await this.metadata(dest, entry);
  }

  /** True (and counted) when `entry` is a device node this restore does not create. */
  private refusesDevice(entry: TreeEntry): boolean {
    const device = entry.type === EntryType.charDevice || entry.type === EntryType.blockDevice;
    if (!device || this.options.specialFiles) return false;
    this.stats.devicesSkipped++;
    return true;
  }

  /** The mode to give a restored entry: without set-uid/set-gid on files unless allowed. */
  private modeOf(entry: TreeEntry): number {
    if (entry.type !== EntryType.file || this.options.specialFiles || !(entry.mode & 0o6000)) {
      return entry.mode;
    }
    this.stats.setIdCleared++;
    return entry.mode & ~0o6000;
  }

  /** Owner (as root), mode, then times: chown clears set-id bits, chmod keeps mtime. */
  private async metadata(path: Buffer, entry: TreeEntry): Promise<void> {
    try {
      if (isRoot) await lchown(path, entry.uid, entry.gid);
      if (entry.type !== EntryType.symlink) await chmod(path, this.modeOf(entry));
      setTimes(path, entry.mtimeNs, entry.type === EntryType.symlink);
    } catch (error) {
      this.warn(path, `cannot set metadata: ${(error as Error).message}`);
    }
  }
}
