/**
 * @module backup/backup
 * The backup engine: walks the sources, skips files unchanged since the parent point, chunks,
 * deduplicates, seals on worker threads, packs and uploads with bounded memory, then commits the
 * recovery point, which the vault makes visible only once everything it needs is stored.
 */
import type { Point, PointStats } from '@coffer/api';
import {
  BlobType,
  CofferError,
  EntryType,
  blobId,
  deriveJoinKey,
  encodeManifest,
  encodeTree,
  idHex,
  sealBlob,
  treeRefs,
  decodeManifest,
  type ContentRef,
  type MasterKeys,
  type TreeEntry,
} from '@coffer/core';
import type { BigIntStats } from 'node:fs';
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobReader } from '../client/blob-reader.js';
import { VaultError, type VaultClient } from '../client/vault-client.js';
import { ChunkPool } from './chunk-pool.js';
import { SMALL_FILE } from './file-chunker.js';
import { Excludes } from './excludes.js';
import { KnownIds } from './known-ids.js';
import { Presence } from './presence.js';
import { TreeCache } from './tree-cache.js';
import { PackUploader } from './uploader.js';
import { buildSourceTree, type SourceNode } from './sources.js';
import { throwIfCancelled } from '../cancelled.js';

export interface BackupWarning {
  path: string;
  message: string;
}

export interface BackupProgress {
  files: number;
  directories: number;
  bytesDone: number;
  /** Bytes of all files to look at, once the scan has finished; else undefined. */
  bytesTotal: number | undefined;
  filesTotal: number | undefined;
  addedBytes: number;
  storedBytes: number;
  currentPath: string;
}

export interface BackupOptions {
  client: VaultClient;
  agentId: string;
  /** The keyring's keys; while a promise, the backup already does the work that needs none. */
  keys: MasterKeys | Promise<MasterKeys>;
  /** This keyring's cache directory (known ids, sealed trees). */
  cacheDir: string;
  paths: readonly string[];
  item: string;
  excludes: readonly string[];
  hostname: string;
  username: string;
  program: string;
  /** Count the files first so that progress can show totals (costs a second walk). */
  estimate?: boolean;
  /** Chunking threads; default one per core. */
  threads?: number;
  onWarning?(warning: BackupWarning): void;
  /**
   * Cancels the backup: it stops with a CancelledError and commits no point; packs uploaded so
   * far stay in the vault (and in the known-ids cache), so the next run does not send them again.
   */
  signal?: AbortSignal;
}

export interface BackupResult {
  point: Point;
  stats: PointStats;
  warnings: BackupWarning[];
}

/** Entries of one directory looked at at once. */
const ENTRY_WINDOW = 16;
/**
 * Directories walked side by side in the whole tree. Each holds its listing, its parent tree
 * and its new entries; a window per directory alone would let 16^depth of them open at once,
 * which is the whole tree for a deep one (memory grew about 1.9 KiB per file). A directory
 * waiting for its subdirectories counts too, so with 16 a tree 6 levels deep had only a few
 * directories handing files to the chunking threads, which were short of work half the time.
 */
const DIRECTORIES_AT_ONCE = 64;

function emptyStats(): PointStats {
  return {
    files: 0,
    directories: 0,
    otherEntries: 0,
    bytes: 0,
    newFiles: 0,
    changedFiles: 0,
    unchangedFiles: 0,
    addedBytes: 0,
    storedBytes: 0,
    warnings: 0,
  };
}

/** Printable form of a byte path (invalid UTF-8 shown as U+FFFD). */
export function printable(path: Buffer): string {
  return path.toString('utf8');
}

function nameKey(name: Buffer): string {
  return name.toString('latin1');
}

/** What the walk of one attempt shares: counters, progress, and where warnings go. */
interface WalkState {
  stats: PointStats;
  progress: BackupProgress;
  excludes: Excludes;
  hardLinks: Map<string, { content: ContentRef[] | undefined; size: number }>;
  warn: (path: Buffer | string, message: string) => void;
  warnParentUnreadable: (path: Buffer | string, error: Error) => void;
}

/** One backup run. */
export class Backup {
  readonly progress: BackupProgress = {
    files: 0,
    directories: 0,
    bytesDone: 0,
    bytesTotal: undefined,
    filesTotal: undefined,
    addedBytes: 0,
    storedBytes: 0,
    currentPath: '',
  };
  private readonly warnings: BackupWarning[] = [];
  private readonly excludes: Excludes;
  private stats = emptyStats();
  private failure: unknown;
  private walkState: WalkState | undefined;
  /** Set once a parent tree could not be read (warned about once per run). */
  private parentUnreadable = false;
  /** Set when the walk is over, so that the estimate stops. */
  private walked = false;
  private hardLinks = new Map<string, { content: ContentRef[] | undefined; size: number }>();

  constructor(private readonly options: BackupOptions) {
    this.excludes = new Excludes(options.excludes);
  }

  private warn(path: Buffer | string, message: string): void {
    const warning = { path: typeof path === 'string' ? path : printable(path), message };
    this.warnings.push(warning);
    this.stats.warnings++;
    this.options.onWarning?.(warning);
  }

  /** Runs the backup and commits the point. */
  async run(): Promise<BackupResult> {
    const { options } = this;
    const sources = await buildSourceTree(options.paths);
    if (options.estimate) void this.scan(sources);
    const known = await KnownIds.load(join(options.cacheDir, 'known-ids'));
    // A stale cache must never let a point refer to data the vault lost. Every id is asked
    // about again unless the vault has lost nothing since the cache was last vouched for (one
    // request instead of one id in 10,000 per request). The check needs no keys, so it runs
    // while they are derived; its failure is reported once they are.
    const checked = (async () => {
      const epoch = await options.client.blobsEpoch();
      if (await known.stillHeldAt(epoch)) return epoch;
      const gone: string[] = [];
      for (const batch of known.batches(10_000))
        gone.push(...(await options.client.missing(batch)));
      await known.remove(gone);
      return epoch;
    })();
    checked.catch(() => undefined);
    const keys = await options.keys;
    const epoch = await checked;
    try {
      const result = await this.attempt(keys, sources, known, true).catch(async (error) => {
        if (!(error instanceof VaultError) || error.code !== 'CLOSURE_INCOMPLETE') throw error;
        // The vault lacks something this agent believed stored: start over, reading everything.
        await known.clear();
        this.stats = emptyStats();
        this.walkState = undefined;
        this.warnings.length = 0;
        this.parentUnreadable = false;
        return this.attempt(keys, sources, known, false);
      });
      // Every id added during the run was confirmed by the vault after `epoch` was read.
      await known.markHeld(epoch);
      return result;
    } finally {
      this.walked = true;
    }
  }

  private async attempt(
    keys: MasterKeys,
    sources: SourceNode,
    known: KnownIds,
    useParent: boolean,
  ): Promise<BackupResult> {
    const { options } = this;
    const startTime = new Date();
    const reader = new BlobReader(options.client, options.agentId, keys);
    const trees = new TreeCache(join(options.cacheDir, 'trees'), keys, reader);
    const parent = useParent ? await this.parentPoint(reader) : undefined;
    const uploader = new PackUploader(options.client, known);
    const presence = new Presence(options.client, known, (id) => uploader.has(id));
    const pool = new ChunkPool(keys, options.threads);
    const run = new WalkRun(this, keys, uploader, pool, trees, presence);
    const parentRoot = parent ? await run.parentTree(parent.tree, '/') : undefined;
    try {
      const rootEntries = sources.isSource
        ? await run.directoryEntries(sources.path, parentRoot)
        : await run.children(sources, parentRoot);
      const rootId = await run.storeTree(rootEntries);
      this.throwIfFailed();
      const endTime = new Date();
      this.stats.storedBytes = uploader.stats.storedBytes;
      const manifestBytes = encodeManifest({
        tree: rootId,
        paths: sources.sourcePaths,
        hostname: options.hostname,
        username: options.username,
        startTimeNs: BigInt(startTime.getTime()) * 1_000_000n,
        endTimeNs: BigInt(endTime.getTime()) * 1_000_000n,
        ...(parent ? { parent: Buffer.from(parent.id, 'hex') } : {}),
        item: options.item,
        tags: [],
        excludes: [...options.excludes],
        stats: this.stats,
        program: options.program,
      });
      const manifestId = blobId(keys.idKey, manifestBytes);
      const sealed = sealBlob(keys, BlobType.manifest, manifestId, manifestBytes);
      await uploader.add(manifestId, BlobType.manifest, sealed, [rootId]);
      await uploader.flush();
      await this.reportUnreadable(reader);
      this.stats.storedBytes = uploader.stats.storedBytes;
      this.progress.storedBytes = this.stats.storedBytes;
      this.throwIfCancelled();
      const point = await options.client.commitPoint({
        item: options.item,
        manifest: idHex(manifestId),
        ...(parent ? { parent: parent.id } : {}),
        hostname: options.hostname,
        startTime: startTime.toISOString(),
        endTime: endTime.toISOString(),
        stats: this.stats,
        // Teaches the join key to a vault whose keyring predates it (format.md §3.2).
        joinKey: deriveJoinKey(keys).publicKey.toString('base64'),
      });
      return { point, stats: { ...this.stats }, warnings: [...this.warnings] };
    } finally {
      await Promise.all([pool.close(), trees.flush()]);
    }
  }

  /**
   * Tells the vault about packs that failed to read (a damaged parent tree): it re-hashes them
   * and stops counting their blobs as stored, so this commit cannot rely on them.
   */
  private async reportUnreadable(reader: BlobReader): Promise<void> {
    for (const pack of reader.unreadable.keys()) {
      try {
        await reader.reportPack(pack);
      } catch (error) {
        if (!(error instanceof CofferError) || error.transient) throw error;
        this.warn(pack, `cannot report this damaged pack to the vault: ${error.message}`);
      }
    }
  }

  /** @internal Records a failure of background work. */
  fail(error: unknown): void {
    this.failure ??= error;
  }

  /** @internal Throws the first failure of background work. */
  throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** @internal Stops the work once the backup is cancelled. */
  throwIfCancelled(): void {
    throwIfCancelled(this.options.signal, 'backup');
  }

  /** @internal The run's shared state, made once per attempt (every file asks for it). */
  get state(): WalkState {
    return (this.walkState ??= this.makeState());
  }

  private makeState(): WalkState {
    return {
      stats: this.stats,
      progress: this.progress,
      excludes: this.excludes,
      hardLinks: this.hardLinks,
      warn: (p, m) => this.warn(p, m),
      warnParentUnreadable: (p, error) => {
        if (this.parentUnreadable) return;
        this.parentUnreadable = true;
        this.warn(
          p,
          `cannot read the parent point's directory here (${error.message}); files where the parent cannot be read are read in full`,
        );
      },
    };
  }

  private async parentPoint(reader: BlobReader): Promise<{ id: string; tree: Buffer } | undefined> {
    const { points } = await this.options.client.points(this.options.agentId, this.options.item);
    const latest = points.at(-1);
    if (!latest) return undefined;
    try {
      const manifest = decodeManifest(await reader.read(latest.id, BlobType.manifest));
      return { id: latest.id, tree: manifest.tree };
    } catch (error) {
      this.warn(
        latest.id,
        `cannot read the parent point, reading every file: ${(error as Error).message}`,
      );
      return undefined;
    }
  }

  /** Sums file sizes ahead of the backup so that progress can show an ETA. */
  private async scan(sources: SourceNode): Promise<void> {
    let bytes = 0;
    let files = 0;
    const visit = async (path: Buffer, isSource: boolean): Promise<void> => {
      if (this.walked) return;
      let st;
      try {
        st = await lstat(path);
      } catch {
        return;
      }
      if (!isSource && this.excludes.excludes(path, path.subarray(path.lastIndexOf('/') + 1)))
        return;
      if (st.isFile()) {
        bytes += st.size;
        files++;
      } else if (st.isDirectory()) {
        let names: Buffer[];
        try {
          names = await readdir(path, { encoding: 'buffer' });
        } catch {
          return;
        }
        for (const name of names) await visit(Buffer.concat([path, Buffer.from('/'), name]), false);
      }
    };
    try {
      for (const path of sources.sourcePaths) await visit(path, true);
      this.progress.bytesTotal = bytes;
      this.progress.filesTotal = files;
    } catch {
      // Progress only.
    }
  }
}

/** The walk of one attempt. */
class WalkRun {
  /** Directories being walked now (see DIRECTORIES_AT_ONCE). */
  private openDirectories = 0;

  constructor(
    private readonly backup: Backup,
    private readonly keys: MasterKeys,
    private readonly uploader: PackUploader,
    private readonly pool: ChunkPool,
    private readonly trees: TreeCache,
    private readonly presence: Presence,
  ) {}

  /**
   * The entries of parent tree `id`, or undefined when it cannot be read (missing, damaged,
   * undecodable): the files below are then read in full, with one warning per run. A vault
   * that cannot be reached is not such a case.
   */
  async parentTree(id: Buffer, path: Buffer | string): Promise<TreeEntry[] | undefined> {
    try {
      return await this.trees.load(id);
    } catch (error) {
      if (!(error instanceof CofferError) || error.transient) throw error;
      this.backup.state.warnParentUnreadable(path, error);
      // The same tree made again must be uploaded again, not taken for stored.
      await this.uploader.forget(id);
      return undefined;
    }
  }

  /** Entries of a virtual directory on the way to the sources (or the root). */
  async children(node: SourceNode, parentEntries: TreeEntry[] | undefined): Promise<TreeEntry[]> {
    const previous = new Map((parentEntries ?? []).map((e) => [nameKey(e.name), e]));
    const entries: TreeEntry[] = [];
    for (const child of node.children) {
      const before = previous.get(nameKey(child.name));
      const entry = child.isSource
        ? await this.entry(child.path, child.name, before)
        : await this.virtualDirectory(child, before);
      if (entry) entries.push(entry);
    }
    return entries;
  }

  private async virtualDirectory(
    node: SourceNode,
    before: TreeEntry | undefined,
  ): Promise<TreeEntry | undefined> {
    const st = await lstat(node.path, { bigint: true });
    const parentEntries =
      before?.type === EntryType.directory && before.subtree
        ? await this.parentTree(before.subtree, node.path)
        : undefined;
    const entries = await this.children(node, parentEntries);
    const entry = this.metadata(node.name, st, EntryType.directory);
    entry.subtree = await this.storeTree(entries);
    return entry;
  }

  private metadata(name: Buffer, st: BigIntStats, type: TreeEntry['type']): TreeEntry {
    return {
      name,
      type,
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      mtimeNs: st.mtimeNs,
      ctimeNs: st.ctimeNs,
      size: 0,
      device: Number(st.dev),
      inode: Number(st.ino),
      links: Number(st.nlink),
      rdev: 0,
    };
  }

  /** Backs up the contents of the real directory at `path`. */
  async directoryEntries(
    path: Buffer,
    parentEntries: TreeEntry[] | undefined,
  ): Promise<TreeEntry[]> {
    const { state } = this.backup;
    let names: Buffer[];
    try {
      // Plain system calls: a directory listing or an lstat takes microseconds, far less than
      // a round trip through the thread pool.
      names = readdirSync(path, { encoding: 'buffer' });
    } catch (error) {
      state.warn(path, describe(error, 'cannot list the directory'));
      names = [];
    }
    names.sort(Buffer.compare);
    state.progress.currentPath = printable(path);
    const previous = new Map((parentEntries ?? []).map((e) => [nameKey(e.name), e]));
    const entries: TreeEntry[] = [];
    const base = path.length === 1 ? path : Buffer.concat([path, Buffer.from('/')]);
    // Entries are looked at several at a time so that file reads overlap with hashing;
    // a window bounds how many are pending, and file reads share one limiter.
    const pending: Promise<TreeEntry | undefined>[] = [];
    for (const childName of names) {
      const childPath = Buffer.concat([base, childName]);
      if (state.excludes.excludes(childPath, childName)) continue;
      const before = previous.get(nameKey(childName));
      const st = this.stat(childPath);
      if (!st) continue;
      if (st.isDirectory() && this.openDirectories >= DIRECTORIES_AT_ONCE) {
        // No room for one more directory side by side: finish the entries before it, then
        // walk it here, so the number of open directories stays bounded.
        for (const done of await Promise.all(pending.splice(0))) if (done) entries.push(done);
        const child = await this.entry(childPath, childName, before, st);
        if (child) entries.push(child);
        continue;
      }
      const child = this.entry(childPath, childName, before, st);
      // Awaited in order below; a failure of a later entry must not go unhandled meanwhile.
      child.catch(() => undefined);
      pending.push(child);
      if (pending.length >= ENTRY_WINDOW) {
        const child = await pending.shift();
        if (child) entries.push(child);
      }
    }
    for (const child of await Promise.all(pending)) if (child) entries.push(child);
    return entries;
  }

  /** The lstat of `path`, or undefined (with a warning) when it is gone. */
  private stat(path: Buffer): BigIntStats | undefined {
    try {
      return lstatSync(path, { bigint: true });
    } catch (error) {
      this.backup.state.warn(path, describe(error, 'vanished before it could be read'));
      return undefined;
    }
  }

  /** Backs up one path of any type; undefined when it is skipped with a warning. */
  async entry(
    path: Buffer,
    name: Buffer,
    before: TreeEntry | undefined,
    stat?: BigIntStats,
  ): Promise<TreeEntry | undefined> {
    const { state } = this.backup;
    this.backup.throwIfCancelled();
    const st = stat ?? this.stat(path);
    if (!st) return undefined;
    if (st.isDirectory()) {
      state.stats.directories++;
      state.progress.directories++;
      const entry = this.metadata(name, st, EntryType.directory);
      this.openDirectories++;
      try {
        const previous =
          before?.type === EntryType.directory && before.subtree
            ? await this.parentTree(before.subtree, path)
            : undefined;
        const entries = await this.directoryEntries(path, previous);
        entry.subtree = await this.storeTree(entries);
      } finally {
        this.openDirectories--;
      }
      return entry;
    }
    if (st.isFile()) return this.file(path, name, st, before);
    if (st.isSymbolicLink()) {
      state.stats.otherEntries++;
      const entry = this.metadata(name, st, EntryType.symlink);
      try {
        entry.linkTarget = readlinkSync(path, { encoding: 'buffer' });
      } catch (error) {
        state.warn(path, describe(error, 'cannot read the symlink'));
        return undefined;
      }
      return entry;
    }
    if (st.isFIFO()) {
      state.stats.otherEntries++;
      return this.metadata(name, st, EntryType.fifo);
    }
    if (st.isCharacterDevice() || st.isBlockDevice()) {
      state.stats.otherEntries++;
      const entry = this.metadata(
        name,
        st,
        st.isCharacterDevice() ? EntryType.charDevice : EntryType.blockDevice,
      );
      entry.rdev = Number(st.rdev);
      return entry;
    }
    state.warn(path, 'skipped: sockets cannot be backed up');
    return undefined;
  }

  private async file(
    path: Buffer,
    name: Buffer,
    st: BigIntStats,
    before: TreeEntry | undefined,
  ): Promise<TreeEntry | undefined> {
    const { state } = this.backup;
    const entry = this.metadata(name, st, EntryType.file);
    entry.size = Number(st.size);
    state.stats.files++;
    state.stats.bytes += entry.size;
    state.progress.files++;
    // A small file is done in microseconds: the directory it is in (see directoryEntries) says
    // as much, without decoding a path per file.
    if (entry.size > SMALL_FILE) state.progress.currentPath = printable(path);
    const linkKey = st.nlink > 1n ? `${st.dev}:${st.ino}` : undefined;
    const linked = linkKey ? state.hardLinks.get(linkKey) : undefined;
    const unchanged =
      before?.type === EntryType.file &&
      before.size === entry.size &&
      before.mtimeNs === st.mtimeNs &&
      before.ctimeNs === st.ctimeNs &&
      BigInt(before.inode) === st.ino;
    if (unchanged) state.stats.unchangedFiles++;
    else if (before) state.stats.changedFiles++;
    else state.stats.newFiles++;
    if (linked && linked.size === entry.size) {
      // Another name of a file read earlier in this run (its ids were checked or uploaded).
      if (linked.content) entry.content = linked.content;
      state.progress.bytesDone += entry.size;
      return entry;
    }
    // The parent's content ids are reused only if the vault still holds them all: a point must
    // never refer to data the vault lost. Otherwise the file is read (and uploaded) again.
    const same = unchanged && (await this.presence.stored((before.content ?? []).map((c) => c.id)));
    if (same && before) {
      if (before.content) entry.content = before.content;
      state.progress.bytesDone += entry.size;
    } else {
      const content = await this.readContent(path, st);
      if (!content) return undefined;
      entry.size = content.size;
      if (content.refs.length > 0) entry.content = content.refs;
    }
    if (linkKey) state.hardLinks.set(linkKey, { content: entry.content, size: entry.size });
    return entry;
  }

  private async readContent(
    path: Buffer,
    st: BigIntStats,
  ): Promise<{ refs: ContentRef[]; size: number } | undefined> {
    const { state } = this.backup;
    const result = await this.pool.file(path, Number(st.size), st.mtimeNs, {
      segment: async (ids, lengths, bytesRead) => {
        this.backup.throwIfFailed();
        this.backup.throwIfCancelled();
        state.progress.bytesDone += bytesRead;
        const wanted: number[] = [];
        for (let i = 0; i < ids.length; i++) {
          if (this.uploader.has(ids[i]!)) continue;
          this.uploader.reserve(ids[i]!);
          state.stats.addedBytes += lengths[i]!;
          state.progress.addedBytes += lengths[i]!;
          wanted.push(i);
        }
        // Sealed chunks wait for upload capacity here, before the thread seals them.
        if (wanted.length > 0) await this.uploader.ready();
        return wanted;
      },
      sealed: async (id, sealed) => {
        await this.uploader.add(id, BlobType.data, sealed);
        state.progress.storedBytes = this.uploader.stats.storedBytes;
      },
    });
    if ('code' in result) {
      state.warn(
        path,
        `${result.code === 'ENOENT' ? 'vanished before it could be read' : 'cannot read the file'} (${result.code})`,
      );
      return undefined;
    }
    if (result.changed) {
      state.warn(path, 'changed while it was being read; the copy may be inconsistent');
    }
    return result;
  }

  /** Encodes, seals and queues a tree unless the vault has it; returns its id. */
  async storeTree(entries: TreeEntry[]): Promise<Buffer> {
    const bytes = encodeTree(entries);
    const id = blobId(this.keys.idKey, bytes);
    if (!this.uploader.has(id)) {
      this.uploader.reserve(id);
      const sealed = sealBlob(this.keys, BlobType.tree, id, bytes);
      await this.trees.put(idHex(id), sealed);
      await this.uploader.add(id, BlobType.tree, sealed, treeRefs(entries));
    }
    return id;
  }
}

function describe(error: unknown, what: string): string {
  const e = error as NodeJS.ErrnoException;
  return e.code ? `${what} (${e.code})` : `${what}: ${e.message}`;
}
