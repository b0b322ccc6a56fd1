/**
 * @module verify/verify
 * Checks recovery points: every tree opens and every blob is stored; with `readData`, every
 * pack a point uses is downloaded whole and checked against its name, and every data blob in it
 * is opened. Damage is reported per point and file, never thrown at the first problem, and
 * packs that read as missing or damaged are reported to the vault, which re-checks them itself.
 */
import { BlobType, CofferError, EntryType, decodeManifest, decodeTree, idHex } from '@coffer/core';
import type { BlobReader } from '../client/blob-reader.js';

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

interface FileRef {
  path: string;
  ids: string[];
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
  private readonly good = new Set<string>();
  private readonly bad = new Map<string, string>();
  /**
   * Trees of points that verified without any damage: a later point that shares a subtree does
   * not read it again, as everything below it (with readData, every blob) was checked.
   */
  private readonly clean = new Set<string>();
  /** Packs streamed whole so far, with the problem found (undefined when it matched its name). */
  private readonly checkedPacks = new Map<string, string | undefined>();

  constructor(
    private readonly reader: BlobReader,
    private readonly readData: boolean,
    private readonly onProgress?: (result: VerifyResult) => void,
  ) {}

  private damaged(point: string, path: string, blob: string, message: string): void {
    this.result.damage.push({ point, path, blob, message });
  }

  /** Verifies one point. */
  async verifyPoint(pointId: string): Promise<void> {
    this.result.points++;
    const damageBefore = this.result.damage.length;
    const trees: string[] = [];
    let treeId: Buffer;
    try {
      treeId = decodeManifest(await this.reader.read(pointId, BlobType.manifest)).tree;
    } catch (error) {
      if (!(error instanceof CofferError) || error.transient) throw error;
      this.damaged(pointId, '', pointId, `the point's manifest cannot be read: ${error.message}`);
      return;
    }
    const used = new Set<string>([pointId]);
    const files: FileRef[] = [];
    // Breadth first: each level's trees are located in one request and read in storage order.
    const root = idHex(treeId);
    let level: { hex: string; path: string }[] = this.clean.has(root)
      ? []
      : [{ hex: root, path: '' }];
    while (level.length > 0) {
      const lost = new Set(await this.reader.locate(level.map((t) => t.hex)));
      const paths = new Map<string, string[]>();
      for (const t of level) {
        used.add(t.hex);
        trees.push(t.hex);
        if (lost.has(t.hex))
          this.damaged(pointId, t.path || '/', t.hex, 'directory missing from the vault');
        else paths.set(t.hex, [...(paths.get(t.hex) ?? []), t.path]);
      }
      const next: { hex: string; path: string }[] = [];
      const ordered = this.reader.inStorageOrder([...paths.keys()]);
      await this.reader.readInOrder(ordered, BlobType.tree, (hex, plaintext) => {
        for (const path of paths.get(hex)!) {
          let entries;
          try {
            if (plaintext instanceof Error) throw plaintext;
            entries = decodeTree(plaintext);
          } catch (error) {
            if (!(error instanceof CofferError)) throw error;
            this.damaged(pointId, path || '/', hex, `directory unreadable: ${error.message}`);
            continue;
          }
          this.result.trees++;
          for (const entry of entries) {
            const child = `${path}/${entry.name.toString('utf8')}`;
            if (entry.type === EntryType.directory && entry.subtree) {
              const subtree = idHex(entry.subtree);
              if (!this.clean.has(subtree)) next.push({ hex: subtree, path: child });
            } else if (entry.type === EntryType.file) {
              this.result.files++;
              files.push({ path: child, ids: (entry.content ?? []).map((c) => idHex(c.id)) });
            }
          }
        }
      });
      level = next;
    }
    const missing = new Set(await this.reader.locate(files.flatMap((f) => f.ids)));
    for (const file of files) {
      const lost = file.ids.find((id) => missing.has(id));
      if (lost) this.damaged(pointId, file.path, lost, 'blob missing from the vault');
    }
    if (this.readData) {
      const dataIds = [...new Set(files.flatMap((f) => f.ids))].filter((id) => !missing.has(id));
      for (const id of dataIds) used.add(id);
      await this.readPacks(pointId, used, dataIds);
      for (const file of files) {
        const damaged = file.ids.find((id) => this.bad.has(id));
        if (damaged) this.damaged(pointId, file.path, damaged, this.bad.get(damaged)!);
      }
    }
    await this.reportPacks();
    if (this.result.damage.length === damageBefore) for (const hex of trees) this.clean.add(hex);
  }

  /**
   * Streams every pack the point uses that no earlier point had streamed, opening the point's
   * unread data blobs in it as they pass; blobs in packs streamed before are read by range.
   */
  private async readPacks(pointId: string, used: Set<string>, dataIds: string[]): Promise<void> {
    const unread = new Set(dataIds.filter((id) => !this.good.has(id) && !this.bad.has(id)));
    const byPack = new Map<string, string[]>();
    for (const id of used) {
      const pack = this.reader.location(id)?.pack;
      if (pack === undefined) continue;
      const ids = byPack.get(pack) ?? [];
      if (unread.has(id)) ids.push(id);
      byPack.set(pack, ids);
    }
    const record = (hex: string, opened: number | Error): void => {
      this.result.blobsRead++;
      if (opened instanceof Error) this.bad.set(hex, opened.message);
      else {
        this.result.bytesRead += opened;
        this.good.add(hex);
      }
      this.onProgress?.(this.result);
    };
    const byRange: string[] = [];
    for (const [pack, ids] of byPack) {
      if (this.checkedPacks.has(pack)) {
        byRange.push(...ids);
        continue;
      }
      const problem = await this.reader.checkPack(pack, ids, BlobType.data, record);
      this.checkedPacks.set(pack, problem);
      this.result.packsChecked++;
    }
    await this.reader.readInOrder(this.reader.inStorageOrder(byRange), BlobType.data, record, {
      keep: false,
    });
    for (const pack of byPack.keys()) {
      const problem = this.checkedPacks.get(pack);
      if (problem !== undefined) this.damaged(pointId, '', pack, problem);
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
