/**
 * @module backup/known-ids
 * The agent's cache of blob ids the vault holds for its keyring, so that a backup asks the
 * vault only about what it does not know. A pack's ids are appended to the file before the pack
 * is sent, so a backup killed midway reuses whatever the vault stored even if the answer never
 * arrived; the file is checked against the vault at the start of each backup, so a stale or
 * optimistic entry cannot make a point refer to missing data.
 */
import { appendFile, mkdir, open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../config/agent-state.js';
import { IdSet } from './id-set.js';

const ID_BYTES = 32;
/** Bytes of the cache file read at once when it is loaded (a multiple of ID_BYTES). */
const LOAD_PIECE = 1024 * 1024;

/**
 * When the cache was last known to hold only ids the vault holds: the vault's loss epoch then,
 * and the cache file's length (ids appended since may be from a pack whose upload never ended).
 */
interface Checked {
  epoch: number;
  bytes: number;
}

/** A set of 32-byte ids, held compactly (IdSet), backed by an append-only file of raw ids. */
export class KnownIds {
  private ids = new IdSet();
  private checked: Checked | undefined;

  private constructor(private readonly path: string) {}

  /**
   * Loads the cache at `path` (an absent or torn file gives what could be read), a piece at a
   * time: the whole file read at once was as large again as the set it fills (10 MB for
   * 300,000 files), at the same moment.
   */
  static async load(path: string): Promise<KnownIds> {
    const known = new KnownIds(path);
    known.checked = await readChecked(`${path}.checked`);
    let file: FileHandle;
    try {
      file = await open(path, 'r');
    } catch {
      return known;
    }
    try {
      const { size } = await file.stat();
      known.ids = new IdSet(Math.floor(size / ID_BYTES));
      const piece = Buffer.allocUnsafe(Math.min(size, LOAD_PIECE));
      let carried = 0;
      for (;;) {
        const { bytesRead } = await file.read(piece, carried, piece.length - carried);
        const end = carried + bytesRead;
        const whole = end - (end % ID_BYTES);
        for (let i = 0; i < whole; i += ID_BYTES) known.ids.add(piece, i);
        if (bytesRead === 0) break;
        // A read may end inside an id: its bytes start the next piece.
        piece.copy(piece, 0, whole, end);
        carried = end - whole;
      }
    } finally {
      await file.close();
    }
    return known;
  }

  /**
   * True when every id in the cache is still held by a vault whose loss epoch is `epoch`: the
   * cache was checked or vouched for in full at that epoch, nothing was appended since, and the
   * vault lost, condemned and found damaged nothing of this keyring since.
   */
  async stillHeldAt(epoch: number | undefined): Promise<boolean> {
    if (epoch === undefined || this.checked?.epoch !== epoch) return false;
    return this.checked.bytes === (await fileLength(this.path));
  }

  /**
   * Records that every id in the cache is held at loss epoch `epoch`: call it after a backup
   * whose every upload and question was answered, with the epoch read before it began.
   */
  async markHeld(epoch: number | undefined): Promise<void> {
    if (epoch === undefined) return;
    this.checked = { epoch, bytes: await fileLength(this.path) };
    await writeFileAtomic(`${this.path}.checked`, Buffer.from(JSON.stringify(this.checked)));
  }

  /** True when the vault is known to hold `id`. */
  has(id: Uint8Array): boolean {
    return this.ids.has(id);
  }

  get size(): number {
    return this.ids.size;
  }

  /** All ids, hex, `size` at a time: a million ids as strings at once would cost 150 MB. */
  *batches(size: number): Generator<string[]> {
    const all = this.ids.ids();
    for (let i = 0; i < all.length; i += size * ID_BYTES) {
      const batch: string[] = [];
      const end = Math.min(all.length, i + size * ID_BYTES);
      for (let at = i; at < end; at += ID_BYTES) batch.push(all.toString('hex', at, at + ID_BYTES));
      yield batch;
    }
  }

  /** Writes down ids about to be sent; they count as known only after `confirm`. */
  async expect(ids: readonly Uint8Array[]): Promise<void> {
    const fresh = ids.filter((id) => !this.ids.has(id));
    if (fresh.length === 0) return;
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await appendFile(this.path, Buffer.concat(fresh), { mode: 0o600 });
  }

  /** Records ids the vault now holds (written down earlier with `expect`). */
  confirm(ids: readonly Uint8Array[]): void {
    for (const id of ids) this.ids.add(id);
  }

  /** Forgets ids the vault turned out not to hold and rewrites the file. */
  async remove(hexIds: readonly string[]): Promise<void> {
    if (hexIds.length === 0) return;
    const gone = new IdSet(hexIds.length);
    for (const id of hexIds) gone.add(Buffer.from(id, 'hex'));
    const all = this.ids.ids();
    const kept = new IdSet(all.length / ID_BYTES);
    for (let at = 0; at < all.length; at += ID_BYTES) if (!gone.has(all, at)) kept.add(all, at);
    this.ids = kept;
    await writeFileAtomic(this.path, kept.ids());
  }

  /** Forgets every id and empties the file. */
  async clear(): Promise<void> {
    this.ids = new IdSet();
    await writeFileAtomic(this.path, Buffer.alloc(0));
  }
}

async function fileLength(path: string): Promise<number> {
  return (await stat(path).catch(() => undefined))?.size ?? 0;
}

async function readChecked(path: string): Promise<Checked | undefined> {
  try {
    const value = JSON.parse(await readFile(path, 'utf8')) as Partial<Checked>;
    if (Number.isSafeInteger(value.epoch) && Number.isSafeInteger(value.bytes)) {
      return { epoch: value.epoch!, bytes: value.bytes! };
    }
  } catch {
    // Absent or torn: the cache is checked in full.
  }
  return undefined;
}
