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
    const walk = async (id: Buffer, path: string): Promise<void> => {
      const hex = idHex(id);
      let entries;
      try {
        entries = decodeTree(await this.reader.read(hex, BlobType.tree));
      } catch (error) {
        if (!(error instanceof CofferError)) throw error;
        this.damaged(pointId, path || '/', hex, `directory unreadable: ${error.message}`);
        return;
      }
      this.result.trees++;
      for (const entry of entries) {
        const child = `${path}/${entry.name.toString('utf8')}`;
        if (entry.type === EntryType.directory && entry.subtree) await walk(entry.subtree, child);
        else if (entry.type === EntryType.file) {
          this.result.files++;
          files.push({ path: child, ids: (entry.content ?? []).map((c) => idHex(c.id)) });
        }
      }
    };
    await walk(treeId, '');
    const missing = new Set(await this.reader.locate(files.flatMap((f) => f.ids)));
    for (const file of files) {
      const lost = file.ids.find((id) => missing.has(id));
      if (lost) this.damaged(pointId, file.path, lost, 'blob missing from the vault');
    }
    if (!this.readData) return;
    for (const file of files) {
      const unread = [...new Set(file.ids.filter((id) => !missing.has(id) && !this.good.has(id)))];
      const known = file.ids.find((id) => this.bad.has(id));
      if (known) {
        this.damaged(pointId, file.path, known, this.bad.get(known)!);
        continue;
      }
      let reported = false;
      await this.reader.readInOrder(
        unread.filter((id) => !this.bad.has(id)),
        BlobType.data,
        (hex, plaintext) => {
          this.result.blobsRead++;
          if (plaintext instanceof Error) {
            this.bad.set(hex, plaintext.message);
            if (!reported) this.damaged(pointId, file.path, hex, plaintext.message);
            reported = true;
          } else {
            this.result.bytesRead += plaintext.length;
            this.good.add(hex);
          }
          this.onProgress?.(this.result);
        },
      );
    }
  }
}
