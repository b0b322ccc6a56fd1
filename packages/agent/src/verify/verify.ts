/**
 * @module verify/verify
 * Checks recovery points: every tree opens and every blob is stored; with `readData`, every
 * data blob is downloaded and opened too. Damage is reported per point and file, never thrown
 * at the first problem.
 */
import { BlobType, CofferError, EntryType, decodeManifest, decodeTree, idHex } from '@coffer/core';
import type { BlobReader } from '../client/blob-reader.js';

export interface Damage {
  point: string;
  /** Path inside the point, or '' for the point itself. */
  path: string;
  blob: string;
  message: string;
}

export interface VerifyResult {
  points: number;
  trees: number;
  files: number;
  blobsRead: number;
  bytesRead: number;
  damage: Damage[];
}

interface FileRef {
  path: string;
  ids: string[];
}

/** Verifies points with one reader; blobs shared by several points are checked once. */
export class Verifier {
  readonly result: VerifyResult = {
    points: 0,
    trees: 0,
    files: 0,
    blobsRead: 0,
    bytesRead: 0,
    damage: [],
  };
  private readonly good = new Set<string>();
  private readonly bad = new Map<string, string>();

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
    let treeId: Buffer;
    try {
      treeId = decodeManifest(await this.reader.read(pointId, BlobType.manifest)).tree;
    } catch (error) {
      this.damaged(pointId, '', pointId, (error as Error).message);
      return;
    }
    const files: FileRef[] = [];
    // Breadth first: each level's trees are located in one request and read in storage order.
    let level: { hex: string; path: string }[] = [{ hex: idHex(treeId), path: '' }];
    while (level.length > 0) {
      const lost = new Set(await this.reader.locate(level.map((t) => t.hex)));
      const paths = new Map<string, string[]>();
      for (const t of level) {
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
            if (entry.type === EntryType.directory && entry.subtree)
              next.push({ hex: idHex(entry.subtree), path: child });
            else if (entry.type === EntryType.file) {
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
    if (!this.readData) return;
    // Read every blob once, in storage order, so neighbouring blobs come in one ranged read.
    const unread = this.reader.inStorageOrder(
      [...new Set(files.flatMap((f) => f.ids))].filter(
        (id) => !missing.has(id) && !this.good.has(id) && !this.bad.has(id),
      ),
    );
    await this.reader.readInOrder(
      unread,
      BlobType.data,
      (hex, opened) => {
        this.result.blobsRead++;
        if (opened instanceof Error) this.bad.set(hex, opened.message);
        else {
          this.result.bytesRead += opened;
          this.good.add(hex);
        }
        this.onProgress?.(this.result);
      },
      { keep: false },
    );
    for (const file of files) {
      const damaged = file.ids.find((id) => this.bad.has(id));
      if (damaged) this.damaged(pointId, file.path, damaged, this.bad.get(damaged)!);
    }
  }
}
