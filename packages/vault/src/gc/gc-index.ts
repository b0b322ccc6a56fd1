/**
 * @module gc/gc-index
 * The few index operations garbage collection needs, over the blob index module (blob-index/)
 * and the points table: the roots, the refs of trees, every blob row in batches, the packs,
 * and the condemn / revive / delete steps of the grace period. The refs of trees and a pack's
 * rows are found through pack footers, read from the blob store. Ids are 32-byte Buffers here,
 * as the mark set holds them.
 */
import { IntegrityError, type PackEntry } from '@coffer/core';
import type { Kysely } from 'kysely';
import {
  blobsInPack,
  condemnBlobs,
  condemnPacks,
  deleteCondemnedBlobs,
  deletePacks,
  insertPack,
  listPacks,
  lookup,
  reviveBlobs,
  revivePack,
  scanBlobs,
  type BlobEntry,
  type PackIds,
} from '../blob-index/index.js';
import type { VaultContext } from '../context.js';
import type { Database, PackState } from '../db/schema.js';
import { packKey } from '../pack-keys.js';
import { FooterRefs, footerFailure, readFooter } from '../pack-footer.js';
import { markPack } from '../pack-health.js';

/** One blob row as GC sees it. */
export interface GcBlob {
  id: Buffer;
  pack: string;
  offset: number;
  length: number;
  type: number;
  condemnedAt: number | null;
}

/** A blob row to copy, with the refs its pack's footer lists (none for data). */
export interface GcCopy extends GcBlob {
  refs: Buffer[];
}

/** One pack row as GC sees it. */
export interface GcPack {
  name: string;
  size: number;
  state: PackState;
  condemnedAt: number | null;
}

const BATCH = 500;
/**
 * Footer ids checked in one transaction of condemnPacks (a primary-key lookup each): a few
 * tens of milliseconds of holding SQLite's one writer, and under a megabyte of ids in memory.
 */
const FOOTER_IDS = 20_000;
/** Packs in one such transaction: those without ids cost one pass over the keyring's rows. */
const GROUP_PACKS = 1000;
const hex = (ids: readonly Buffer[]): string[] => ids.map((id) => id.toString('hex'));

function gcBlob(row: {
  id: string;
  pack: string;
  offset: number;
  length: number;
  type: number;
  condemnedAt: number | null;
}): GcBlob {
  return {
    id: Buffer.from(row.id, 'hex'),
    pack: row.pack,
    offset: Number(row.offset),
    length: Number(row.length),
    type: row.type,
    condemnedAt: row.condemnedAt === null ? null : Number(row.condemnedAt),
  };
}

/** GC's view of the blob index of one database, and of the pack footers in the blob store. */
export class GcIndex {
  private readonly db: Kysely<Database>;
  private footers: { keyringId: string; refs: FooterRefs } | undefined;

  constructor(private readonly vault: Pick<VaultContext, 'db' | 'dialect' | 'store' | 'now'>) {
    this.db = vault.db;
  }

  /** Keyrings of a vault. */
  async keyrings(vaultId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('keyrings')
      .select('id')
      .where('vault_id', '=', vaultId)
      .orderBy('id')
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * About how many blob rows the keyring has (to size the mark set): the blob counts of its
   * packs in use (a condemned pack has no row pointing into it).
   */
  async blobCount(keyringId: string): Promise<number> {
    const packs = await listPacks(this.db, keyringId);
    return packs.reduce((n, p) => (p.condemnedAt === null ? n + p.blobs : n), 0);
  }

  /**
   * The roots: the manifest id of every point row of the keyring, whatever its state (live or
   * soft-deleted; a purged point has no row), in batches.
   */
  async *roots(keyringId: string): AsyncGenerator<Buffer[]> {
    let after = '';
    for (;;) {
      const rows = await this.db
        .selectFrom('points')
        .select('id')
        .where('keyring_id', '=', keyringId)
        .where('id', '>', after)
        .orderBy('id')
        .limit(BATCH)
        .execute();
      if (rows.length === 0) return;
      yield rows.map((r) => Buffer.from(r.id, 'hex'));
      after = rows[rows.length - 1]!.id;
    }
  }

  /**
   * The refs of those of `ids` that are indexed trees or manifests (concatenated 32-byte ids),
   * read from their packs' footers. A footer that cannot be read leaves what its trees refer
   * to unknown, so nothing may be condemned: the pack is marked (its blobs stop counting as
   * stored, and backups store them again) and this throws, naming it.
   */
  async refsOf(keyringId: string, ids: readonly Buffer[]): Promise<Buffer[]> {
    if (this.footers?.keyringId !== keyringId) {
      this.footers = { keyringId, refs: new FooterRefs(this.vault.store, keyringId) };
    }
    const parents = (await lookup(this.db, keyringId, hex(ids))).filter((row) => row.type !== 1);
    const { refs, unreadable } = await this.footers.refs.read(parents);
    for (const [name, state] of unreadable) await markPack(this.vault, keyringId, name, state);
    const [first] = unreadable;
    if (first) {
      throw new IntegrityError(
        `the footer of pack ${first[0]} cannot be read (${first[1]}), so what its trees refer ` +
          'to is unknown and GC condemns nothing in this keyring until those trees are stored ' +
          'again or the points that need them are deleted',
        { subject: first[0] },
      );
    }
    return [...refs.values()];
  }

  /** Every blob row of the keyring in id order, `size` at a time. */
  async *blobs(keyringId: string, size = BATCH): AsyncGenerator<GcBlob[]> {
    for await (const rows of scanBlobs(this.db, keyringId, { batch: size })) {
      yield rows.map(gcBlob);
    }
  }

  /**
   * The blob rows that point into `pack`, in offset order, with the refs its footer lists. When
   * the footer cannot be read (`unreadable` says how it failed), the rows are found by a pass
   * over the keyring's rows, and only data blobs are given: a tree copied without its refs
   * would hide what it refers to.
   */
  async blobsToCopy(
    keyringId: string,
    pack: GcPack,
  ): Promise<{ rows: GcCopy[]; unreadable?: Exclude<PackState, 'ok'> }> {
    const entries = await this.footer(keyringId, pack);
    if (typeof entries !== 'string') {
      const byOffset = new Map(entries.map((e) => [e.offset, e]));
      const rows = await blobsInPack(
        this.db,
        keyringId,
        pack.name,
        entries.map((e) => e.id),
      );
      const copies: GcCopy[] = [];
      for (const row of rows) {
        const entry = byOffset.get(Number(row.offset));
        if (entry?.id.toString('hex') === row.id) copies.push({ ...gcBlob(row), refs: entry.refs });
      }
      // A row the footer does not list where the row says: the footer is not to be trusted.
      if (copies.length === rows.length) return { rows: copies };
    }
    const rows = await blobsInPack(this.db, keyringId, pack.name, null);
    return {
      rows: rows.filter((r) => r.type === 1).map((r) => ({ ...gcBlob(r), refs: [] })),
      unreadable: typeof entries === 'string' ? entries : 'damaged',
    };
  }

  /** Every pack of the keyring. */
  async packs(keyringId: string): Promise<GcPack[]> {
    return (await listPacks(this.db, keyringId)).map((p) => ({
      name: p.name,
      size: Number(p.size),
      state: p.state,
      condemnedAt: p.condemnedAt === null ? null : Number(p.condemnedAt),
    }));
  }

  /** Condemns those of `ids` not condemned yet (and bumps the closure epoch). */
  condemnBlobs(keyringId: string, ids: readonly Buffer[], now: number): Promise<number> {
    return condemnBlobs(this.db, keyringId, hex(ids), now);
  }

  /** Clears the condemnation of those of `ids` that are reachable again. */
  async reviveBlobs(keyringId: string, ids: readonly Buffer[]): Promise<number> {
    if (ids.length === 0) return 0;
    const gone = await reviveBlobs(this.db, keyringId, hex(ids));
    return ids.length - gone.length;
  }

  /** Deletes those of `ids` condemned at or before `cutoff`; resolves to the rows deleted. */
  deleteCondemnedBlobs(
    keyringId: string,
    ids: readonly Buffer[],
    cutoff: number,
  ): Promise<{ id: string; pack: string; length: number }[]> {
    return deleteCondemnedBlobs(this.db, keyringId, hex(ids), cutoff);
  }

  /**
   * Records a new pack (stored and named by its bytes already) and moves every row of its
   * blobs into it, keeping their closure flags: the same bytes are now read from here.
   */
  addPack(
    keyringId: string,
    pack: { name: string; size: number },
    entries: readonly BlobEntry[],
    now: number,
  ): Promise<void> {
    return insertPack(this.db, keyringId, pack, entries, { now, move: 'all' });
  }

  /** Condemns those of `packs` no blob row points into; resolves to the names condemned. */
  async condemnPacks(keyringId: string, packs: readonly GcPack[], now: number): Promise<string[]> {
    const done: string[] = [];
    for await (const group of this.groups(keyringId, packs)) {
      done.push(...(await condemnPacks(this.db, this.vault.dialect, keyringId, group, now)));
    }
    return done;
  }

  /** Clears the condemnation of pack `name`. */
  revivePack(keyringId: string, name: string): Promise<void> {
    return revivePack(this.db, keyringId, name);
  }

  /**
   * Deletes the rows of `packs` (the caller checked they were condemned before the cutoff)
   * that still no blob row points into; resolves to the names deleted. A pack an upload
   * revived meanwhile either holds rows again (kept) or holds none (nothing is lost).
   */
  async deletePacks(keyringId: string, packs: readonly GcPack[]): Promise<string[]> {
    const done: string[] = [];
    for await (const group of this.groups(keyringId, packs)) {
      done.push(...(await deletePacks(this.db, keyringId, group)));
    }
    return done;
  }

  /**
   * `pack` with the ids its footer lists, read outside any transaction. A footer that cannot
   * be read (the file gone or damaged) gives no ids, and the keyring's rows are then scanned
   * for the pack: slow, but it is the answer, whereas skipping the pack would keep a missing
   * pack's row, and a damaged pack's file, for ever once no row points into it. A failure that
   * says nothing about the pack (the store unreachable) stops the run; the next one redoes it.
   */
  private async withIds(keyringId: string, pack: GcPack): Promise<PackIds> {
    const entries = await this.footer(keyringId, pack);
    return { name: pack.name, ids: typeof entries === 'string' ? null : entries.map((e) => e.id) };
  }

  /** The footer of `pack`, or the state it shows when it cannot be read. */
  private async footer(
    keyringId: string,
    pack: GcPack,
  ): Promise<PackEntry[] | Exclude<PackState, 'ok'>> {
    try {
      return await readFooter(this.vault.store, packKey(keyringId, pack.name), pack.size);
    } catch (error) {
      const state = footerFailure(error);
      if (!state) throw error;
      return state;
    }
  }

  /**
   * `packs` with their footer ids, in groups of about FOOTER_IDS ids; those without ids come
   * last, GROUP_PACKS to a group, so that each group costs at most one pass over the keyring.
   */
  private async *groups(keyringId: string, packs: readonly GcPack[]): AsyncGenerator<PackIds[]> {
    let group: PackIds[] = [];
    let ids = 0;
    const unread: PackIds[] = [];
    for (const pack of packs) {
      const withIds = await this.withIds(keyringId, pack);
      if (withIds.ids === null) {
        unread.push(withIds);
        continue;
      }
      group.push(withIds);
      ids += withIds.ids.length;
      if (ids >= FOOTER_IDS || group.length >= GROUP_PACKS) {
        yield group;
        group = [];
        ids = 0;
      }
    }
    if (group.length > 0) yield group;
    for (let i = 0; i < unread.length; i += GROUP_PACKS) yield unread.slice(i, i + GROUP_PACKS);
  }
}
