/**
 * @module backup/presence
 * Asks the vault, in batches, whether the content ids of a file unchanged since the parent
 * point are still stored, for ids this backup cannot vouch for already; ids the vault holds
 * become known. A file whose ids are not all stored is read again.
 */
import { idHex } from '@coffer/core';
import type { VaultClient } from '../client/vault-client.js';
import type { KnownIds } from './known-ids.js';

/** Ids asked about in one request at most; smaller batches go out on the next turn. */
const BATCH = 5000;

interface Waiting {
  ids: Buffer[];
  resolve(stored: boolean): void;
  reject(error: unknown): void;
}

/** Batched "are these all stored?" questions for one backup. */
export class Presence {
  private waiting: Waiting[] = [];
  private waitingIds = 0;
  private scheduled = false;

  constructor(
    private readonly client: VaultClient,
    private readonly known: KnownIds,
    /** True for ids stored or on their way in this backup (checked or uploaded). */
    private readonly vouched: (id: Buffer) => boolean,
  ) {}

  /** True when the vault holds (or this backup uploads) every one of `ids`. */
  stored(ids: readonly Buffer[]): Promise<boolean> {
    const unknown = ids.filter((id) => !this.vouched(id));
    if (unknown.length === 0) return Promise.resolve(true);
    return new Promise((resolve, reject) => {
      this.waiting.push({ ids: unknown, resolve, reject });
      this.waitingIds += unknown.length;
      if (this.waitingIds >= BATCH) void this.ask();
      else if (!this.scheduled) {
        this.scheduled = true;
        // Files of one directory are looked at together: one request covers all of them.
        setImmediate(() => {
          this.scheduled = false;
          void this.ask();
        });
      }
    });
  }

  private async ask(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    this.waitingIds = 0;
    if (batch.length === 0) return;
    try {
      const byHex = new Map(batch.flatMap((w) => w.ids.map((id) => [idHex(id), id] as const)));
      const missing = new Set(await this.client.missing([...byHex.keys()]));
      const present = [...byHex].filter(([hex]) => !missing.has(hex)).map(([, id]) => id);
      await this.known.expect(present);
      this.known.confirm(present);
      for (const w of batch) w.resolve(w.ids.every((id) => !missing.has(idHex(id))));
    } catch (error) {
      for (const w of batch) w.reject(error);
    }
  }
}
