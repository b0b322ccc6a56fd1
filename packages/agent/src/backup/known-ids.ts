/**
 * @module backup/known-ids
 * The agent's cache of blob ids the vault holds for its keyring, so that a backup asks the
 * vault only about what it does not know. A pack's ids are appended to the file before the pack
 * is sent, so a backup killed midway reuses whatever the vault stored even if the answer never
 * arrived; the file is checked against the vault at the start of each backup, so a stale or
 * optimistic entry cannot make a point refer to missing data.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../config/agent-state.js';

const ID_BYTES = 32;

/** A set of 32-byte ids (hex keys) backed by an append-only file of raw ids. */
export class KnownIds {
  private readonly ids = new Set<string>();

  private constructor(private readonly path: string) {}

  /** Loads the cache at `path` (an absent or torn file gives what could be read). */
  static async load(path: string): Promise<KnownIds> {
    const known = new KnownIds(path);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch {
      return known;
    }
    for (let i = 0; i + ID_BYTES <= bytes.length; i += ID_BYTES) {
      known.ids.add(bytes.toString('hex', i, i + ID_BYTES));
    }
    return known;
  }

  /** True when the vault is known to hold `hex`. */
  has(hex: string): boolean {
    return this.ids.has(hex);
  }

  get size(): number {
    return this.ids.size;
  }

  /** All ids, hex. */
  all(): string[] {
    return [...this.ids];
  }

  /** Writes down ids about to be sent; they count as known only after `confirm`. */
  async expect(hexIds: readonly string[]): Promise<void> {
    const fresh = hexIds.filter((id) => !this.ids.has(id));
    if (fresh.length === 0) return;
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await appendFile(this.path, Buffer.from(fresh.join(''), 'hex'), { mode: 0o600 });
  }

  /** Records ids the vault now holds (written down earlier with `expect`). */
  confirm(hexIds: readonly string[]): void {
    for (const id of hexIds) this.ids.add(id);
  }

  /** Forgets ids the vault turned out not to hold and rewrites the file. */
  async remove(hexIds: readonly string[]): Promise<void> {
    if (hexIds.length === 0) return;
    for (const id of hexIds) this.ids.delete(id);
    await writeFileAtomic(this.path, Buffer.from([...this.ids].join(''), 'hex'));
  }
}
