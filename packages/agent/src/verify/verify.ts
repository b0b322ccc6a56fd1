/**
 * @module verify/verify
 * Checks recovery points: every tree opens and every blob is stored; with `readData`, every
 * pack a point uses is downloaded whole and checked against its name, and every data blob in it
 * is opened. Damage is reported per point and file, never thrown at the first problem, and
 * packs that read as missing or damaged are reported to the vault, which re-checks them itself.
 *
 * Memory does not grow with paths: the first pass walks the trees in batches and keeps ids as
 * binary (a set of the ids checked, and per pack the blobs to open, 40 bytes each), never a path.
 * Only a point found damaged is walked a second time, with paths, to name what is damaged.
 */
import {
  BlobType,
  CofferError,
  EntryType,
  decodeManifest,
  decodeTree,
  idHex,
  type TreeEntry,
} from '@coffer/core';
import { IdSet } from '../backup/id-set.js';
import type { BlobReader } from '../client/blob-reader.js';
import { PackBlobs } from './pack-blobs.js';
import { TreeStack } from './tree-stack.js';

export interface Damage {
  point: string;
  /** Path inside the point, or '' for the point itself. */
  path: string;
  /** The blob (or, for a pack that does not match its name, the pack) at fault. */
  blob: string;
  message: string;
}

/** A pack that could not be read or did not match its name, and what the vault made of it. */
export interface PackDamage {
  pack: string;
  message: string;
  /** The vault's own finding after re-checking it (ok, missing, damaged), when it answered. */
  vaultState?: string;
  /** Why the report did not reach the vault, when it did not. */
  reportError?: string;
}

export interface VerifyResult {
  points: number;
  trees: number;
  files: number;
  packsChecked: number;
  blobsRead: number;
  bytesRead: number;
  damage: Damage[];
  packs: PackDamage[];
}

/**
 * Trees lie between the data of their files in the same packs: read only their own bytes, not
 * the data around them (which read-data streams once more anyway).
 */
const SPARSE = { sparse: true } as const;

/** The reader calls a verify makes. */
export type VerifyReader = Pick<
  BlobReader,
  | 'read'
  | 'locate'
  | 'lookUp'
  | 'hold'
  | 'release'
  | 'inStorageOrder'
  | 'location'
  | 'readInOrder'
  | 'checkPack'
  | 'reportPack'
  | 'unreadable'
>;

export interface VerifierOptions {
  /** Most directories read in one round (one locate, reads in storage order); default 2,000. */
  treeBatch?: number;
  /** Data ids gathered before they are located; default 10,000 (one request). */
  locateBatch?: number;
  onProgress?: (result: VerifyResult) => void;
}

/** What the first pass keeps of one point. */
interface PointState {
  id: string;
  /** Trees read for this point: they count as clean for later points if it has no damage. */
  trees: IdSet;
  /** Packs the point uses, with the data blobs still to open in each (read-data only). */
  packs: Map<string, PackBlobs>;
  /** Data ids met in the trees and not located yet (hex, as the vault takes them). */
  pending: string[];
  /** Packs already named in a damage entry of this point. */
  reportedPacks: Set<string>;
  damaged: boolean;
}

/** Verifies points with one reader; blobs and packs shared by several points are checked once. */
export class Verifier {
  readonly result: VerifyResult = {
    points: 0,
    trees: 0,
    files: 0,
    packsChecked: 0,
    blobsRead: 0,
    bytesRead: 0,
    damage: [],
    packs: [],
  };
  /** Data ids located (and, with readData, handed to a pack read) in this run. */
  private readonly checkedData = new IdSet();
  /** Blobs and trees the vault does not have, with the message for each file or directory. */
  private readonly missing = new Map<string, string>();
  /** Blobs that failed to open and trees that failed to decode, with why. */
  private readonly bad = new Map<string, string>();
  /** Blobs in packs that did not match their name, with the pack: the points using them name it. */
  private readonly inDamagedPack = new Map<string, string>();
  /**
   * Trees of points that verified without any damage: a later point that shares a subtree does
   * not read it again, as everything below it (with readData, every blob) was checked.
   */
  private readonly clean = new IdSet();
  /** Packs streamed whole so far, with the problem found (undefined when it matched its name). */
  private readonly checkedPacks = new Map<string, string | undefined>();
  private readonly treeBatch: number;
  private readonly locateBatch: number;
  private readonly onProgress: ((result: VerifyResult) => void) | undefined;

  constructor(
    private readonly reader: VerifyReader,
    private readonly readData: boolean,
    options: VerifierOptions = {},
  ) {
    this.treeBatch = options.treeBatch ?? 2000;
    this.locateBatch = options.locateBatch ?? 10_000;
    this.onProgress = options.onProgress;
  }

  private damaged(point: string, path: string, blob: string, message: string): void {
    this.result.damage.push({ point, path, blob, message });
  }

  /** Verifies one point. */
  async verifyPoint(pointId: string): Promise<void> {
    this.result.points++;
    let root: string;
    try {
      root = idHex(decodeManifest(await this.reader.read(pointId, BlobType.manifest)).tree);
    } catch (error) {
      if (!(error instanceof CofferError) || error.transient) throw error;
      this.damaged(pointId, '', pointId, `the point's manifest cannot be read: ${error.message}`);
      return;
    }
    const point: PointState = {
      id: pointId,
      trees: new IdSet(),
      packs: new Map(),
      pending: [],
      reportedPacks: new Set(),
      damaged: false,
    };
    const manifestPack = this.reader.location(pointId)?.pack;
    if (manifestPack !== undefined) this.packBlobs(point, manifestPack);
    await this.walk(point, root);
    if (this.readData) await this.readPacks(point);
    await this.reportPacks();
    if (point.damaged) await this.nameDamage(point, root);
    else {
      const ids = point.trees.ids();
      for (let at = 0; at < ids.length; at += 32) this.clean.add(ids, at);
    }
  }

  private packBlobs(point: PointState, pack: string): PackBlobs {
    let blobs = point.packs.get(pack);
    if (!blobs) point.packs.set(pack, (blobs = new PackBlobs()));
    return blobs;
  }

  /**
   * The first pass: reads every tree of the point (each distinct one once, with the number of
   * times it occurs), counts directories and files, and locates every data id not checked yet.
   */
  private async walk(point: PointState, root: string): Promise<void> {
    const stack = new TreeStack();
    const rootId = Buffer.from(root, 'hex');
    if (!this.clean.has(rootId)) stack.push(rootId, 1);
    while (stack.size > 0) {
      const batch = stack.take(this.treeBatch);
      const hexes = [...batch.keys()];
      for (const hex of await this.reader.locate(hexes)) {
        this.missing.set(hex, 'directory missing from the vault');
        point.damaged = true;
      }
      this.reader.hold(hexes);
      try {
        const located = this.reader.inStorageOrder(hexes);
        for (const hex of located) this.packBlobs(point, this.reader.location(hex)!.pack);
        await this.reader.readInOrder(
          located,
          BlobType.tree,
          (hex, plaintext) => {
            let entries: TreeEntry[];
            try {
              if (plaintext instanceof Error) throw plaintext;
              entries = decodeTree(plaintext);
            } catch (error) {
              if (!(error instanceof CofferError)) throw error;
              this.bad.set(hex, `directory unreadable: ${error.message}`);
              point.damaged = true;
              return;
            }
            const times = batch.get(hex)!;
            point.trees.add(Buffer.from(hex, 'hex'));
            this.result.trees += times;
            for (const entry of entries) {
              if (entry.type === EntryType.directory && entry.subtree) {
                if (!this.clean.has(entry.subtree)) stack.push(entry.subtree, times);
              } else if (entry.type === EntryType.file) {
                this.result.files += times;
                for (const ref of entry.content ?? []) this.want(point, ref.id);
              }
            }
          },
          SPARSE,
        );
      } finally {
        this.reader.release(hexes);
      }
      if (point.pending.length >= this.locateBatch) await this.locateData(point);
    }
    await this.locateData(point);
  }

  /** Notes a data id of the point: located once per run; damage found before is this point's too. */
  private want(point: PointState, id: Uint8Array): void {
    if (this.checkedData.add(id)) {
      point.pending.push(idHex(id));
      return;
    }
    if (this.missing.size + this.bad.size + this.inDamagedPack.size === 0) return;
    const hex = idHex(id);
    if (this.missing.has(hex) || this.bad.has(hex) || this.inDamagedPack.has(hex))
      point.damaged = true;
  }

  /** Locates the pending data ids; with readData, files each under its pack. */
  private async locateData(point: PointState): Promise<void> {
    while (point.pending.length > 0) {
      const ids = point.pending.splice(0, this.locateBatch);
      const { locations, missing } = await this.reader.lookUp(ids);
      for (const hex of missing) {
        this.missing.set(hex, 'blob missing from the vault');
        point.damaged = true;
      }
      if (!this.readData) continue;
      for (const loc of locations) {
        if (loc.type !== BlobType.data) {
          this.result.blobsRead++;
          this.bad.set(
            loc.id,
            `blob ${loc.id}: the vault lists it as type ${loc.type}, expected ${BlobType.data}`,
          );
          point.damaged = true;
        } else this.packBlobs(point, loc.pack).add(loc.id, loc.offset, loc.length);
      }
    }
  }

  /**
   * Streams every pack the point uses that no earlier point had streamed, opening the point's
   * unread data blobs in it as they pass; blobs in packs streamed before are read by range.
   */
  private async readPacks(point: PointState): Promise<void> {
    const record = (hex: string, opened: number | Error): void => {
      this.result.blobsRead++;
      if (opened instanceof Error) {
        this.bad.set(hex, opened.message);
        point.damaged = true;
      } else this.result.bytesRead += opened;
      this.onProgress?.(this.result);
    };
    const byRange: string[] = [];
    for (const [pack, blobs] of point.packs) {
      const locations = blobs.locations(pack, BlobType.data);
      // The records are not needed once the pack is read: let them go as the run goes on.
      point.packs.set(pack, new PackBlobs());
      if (this.checkedPacks.has(pack)) {
        for (const loc of locations) byRange.push(loc.id);
        continue;
      }
      const problem = await this.reader.checkPack(pack, locations, BlobType.data, record);
      this.checkedPacks.set(pack, problem);
      this.result.packsChecked++;
      if (problem !== undefined) for (const loc of locations) this.inDamagedPack.set(loc.id, pack);
    }
    if (byRange.length > 0) await this.readByRange(byRange, record);
    for (const pack of point.packs.keys()) {
      const problem = this.checkedPacks.get(pack);
      if (problem === undefined) continue;
      this.damaged(point.id, '', pack, problem);
      point.reportedPacks.add(pack);
      point.damaged = true;
    }
  }

  private async readByRange(
    hexes: string[],
    record: (hex: string, opened: number | Error) => void,
  ): Promise<void> {
    await this.reader.locate(hexes);
    this.reader.hold(hexes);
    try {
      await this.reader.readInOrder(this.reader.inStorageOrder(hexes), BlobType.data, record, {
        keep: false,
      });
    } finally {
      this.reader.release(hexes);
    }
  }

  /**
   * The second pass, for a damaged point only: walks its trees again depth first, a directory's
   * subdirectories read together, and names every damaged directory and file. It holds the
   * entries of one directory's subdirectories per level of depth, never every path.
   */
  private async nameDamage(point: PointState, root: string): Promise<void> {
    await this.nameIn(point, [{ hex: root, path: '' }]);
  }

  private async nameIn(point: PointState, dirs: { hex: string; path: string }[]): Promise<void> {
    const readable: { hex: string; path: string }[] = [];
    for (const dir of dirs) {
      const problem = this.missing.get(dir.hex) ?? this.bad.get(dir.hex);
      if (problem === undefined) readable.push(dir);
      else this.damaged(point.id, dir.path || '/', dir.hex, problem);
    }
    const hexes = [...new Set(readable.map((d) => d.hex))];
    const trees = new Map<string, TreeEntry[] | Error>();
    for (const hex of await this.reader.locate(hexes)) {
      trees.set(hex, new Error('directory missing from the vault'));
    }
    this.reader.hold(hexes);
    try {
      await this.reader.readInOrder(
        this.reader.inStorageOrder(hexes),
        BlobType.tree,
        (hex, p) => {
          try {
            if (p instanceof Error) throw p;
            trees.set(hex, decodeTree(p));
          } catch (error) {
            if (!(error instanceof CofferError)) throw error;
            trees.set(hex, new Error(`directory unreadable: ${error.message}`));
          }
        },
        SPARSE,
      );
    } finally {
      this.reader.release(hexes);
    }
    for (const dir of readable) {
      const entries = trees.get(dir.hex)!;
      if (entries instanceof Error) {
        this.damaged(point.id, dir.path || '/', dir.hex, entries.message);
        continue;
      }
      const children: { hex: string; path: string }[] = [];
      for (const entry of entries) {
        const path = `${dir.path}/${entry.name.toString('utf8')}`;
        if (entry.type === EntryType.directory && entry.subtree) {
          if (!this.clean.has(entry.subtree)) children.push({ hex: idHex(entry.subtree), path });
        } else if (entry.type === EntryType.file) {
          this.nameFile(
            point,
            path,
            (entry.content ?? []).map((c) => idHex(c.id)),
          );
        }
      }
      trees.delete(dir.hex);
      if (children.length > 0) await this.nameIn(point, children);
    }
  }

  private nameFile(point: PointState, path: string, ids: string[]): void {
    const lost = ids.find((id) => this.missing.has(id));
    if (lost) this.damaged(point.id, path, lost, this.missing.get(lost)!);
    if (!this.readData) return;
    const damaged = ids.find((id) => this.bad.has(id));
    if (damaged) this.damaged(point.id, path, damaged, this.bad.get(damaged)!);
    for (const id of ids) {
      const pack = this.inDamagedPack.get(id);
      if (pack === undefined || point.reportedPacks.has(pack)) continue;
      point.reportedPacks.add(pack);
      this.damaged(point.id, '', pack, this.checkedPacks.get(pack)!);
    }
  }

  /** Tells the vault about packs that read as missing or damaged (once each). */
  private async reportPacks(): Promise<void> {
    const reported = new Set(this.result.packs.map((p) => p.pack));
    for (const [pack, message] of this.reader.unreadable) {
      if (reported.has(pack)) continue;
      const entry: PackDamage = { pack, message };
      try {
        entry.vaultState = (await this.reader.reportPack(pack)).state;
      } catch (error) {
        if (!(error instanceof CofferError) || error.transient) throw error;
        entry.reportError = error.message;
      }
      this.result.packs.push(entry);
    }
  }
}
