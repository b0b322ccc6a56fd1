/**
 * @module gc/gc-index
 * The few blob-index operations garbage collection needs, in one place: reading blobs and packs
 * of a keyring in batches, condemning, reviving and deleting blobs, moving blobs to a new pack,
 * condemning and deleting packs. Every write re-checks the state it acts on in its own
 * statement, so a backup that revives or re-uploads a blob at the same moment wins.
 */
import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../db/migrations/context.js';
import type { Database, PackState } from '../db/schema.js';

/** One blob row as GC sees it. */
export interface GcBlob {
  id: Buffer;
  pack: string;
  offset: number;
  length: number;
  type: number;
  /** Concatenated 32-byte ids (trees and manifests), else null. */
  refs: Buffer | null;
  condemnedAt: number | null;
}

/** One pack row as GC sees it. */
export interface GcPack {
  name: string;
  size: number;
  state: PackState;
  condemnedAt: number | null;
}

/**
 * A run of blobs copied together: the rows of `fromPack` at offsets [fromStart, fromEnd) now
 * lie `delta` bytes further on in the new pack (negative: earlier).
 */
export interface BlobMove {
  fromPack: string;
  fromStart: number;
  fromEnd: number;
  delta: number;
}

const BATCH = 500;
const hex = (ids: readonly Buffer[]): string[] => ids.map((id) => id.toString('hex'));

/** Bumps the keyring's closure epoch, so no closure flag covers a condemned blob. */
async function bumpEpoch(db: Kysely<Database>, keyringId: string): Promise<void> {
  await db
    .updateTable('keyrings')
    .set((eb) => ({ closure_epoch: eb('closure_epoch', '+', 1) }))
    .where('id', '=', keyringId)
    .execute();
}

/** GC's view of the blob index of one database. */
export class GcIndex {
  private readonly pg: boolean;

  constructor(
    private readonly db: Kysely<Database>,
    dialect: Dialect,
  ) {
    this.pg = dialect === 'postgres';
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

  /** How many blob rows the keyring has (to size the mark set). */
  async blobCount(keyringId: string): Promise<number> {
    const row = await this.db
      .selectFrom('blobs')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('keyring_id', '=', keyringId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
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

  /** The refs of those of `ids` that are trees or manifests (data blobs have none). */
  async refsOf(keyringId: string, ids: readonly Buffer[]): Promise<Buffer[]> {
    const rows = await this.db
      .selectFrom('blobs')
      .select('refs')
      .where('keyring_id', '=', keyringId)
      .where('id', 'in', hex(ids))
      .where('type', '!=', 1)
      .execute();
    const out: Buffer[] = [];
    for (const row of rows) if (row.refs) out.push(row.refs);
    return out;
  }

  /** Every blob row of the keyring in id order, `size` at a time. */
  async *blobs(keyringId: string, size = BATCH): AsyncGenerator<GcBlob[]> {
    let after = '';
    for (;;) {
      const rows = await this.db
        .selectFrom('blobs')
        .select(['id', 'pack', 'offset', 'length', 'type', 'refs', 'condemned_at'])
        .where('keyring_id', '=', keyringId)
        .where('id', '>', after)
        .orderBy('id')
        .limit(size)
        .execute();
      if (rows.length === 0) return;
      yield rows.map(toGcBlob);
      after = rows[rows.length - 1]!.id;
    }
  }

  /** The blob rows that point into pack `name`, in offset order. */
  async blobsInPack(keyringId: string, name: string): Promise<GcBlob[]> {
    const rows = await this.db
      .selectFrom('blobs')
      .select(['id', 'pack', 'offset', 'length', 'type', 'refs', 'condemned_at'])
      .where('keyring_id', '=', keyringId)
      .where('pack', '=', name)
      .orderBy('offset')
      .execute();
    return rows.map(toGcBlob);
  }

  /** Every pack of the keyring. */
  async packs(keyringId: string): Promise<GcPack[]> {
    const rows = await this.db
      .selectFrom('packs')
      .select(['name', 'size', 'state', 'condemned_at'])
      .where('keyring_id', '=', keyringId)
      .orderBy('name')
      .execute();
    return rows.map((r) => ({
      name: r.name,
      size: Number(r.size),
      state: r.state,
      condemnedAt:
        r.condemned_at === null || r.condemned_at === undefined ? null : Number(r.condemned_at),
    }));
  }

  /**
   * Condemns those of `ids` not condemned yet, and bumps the closure epoch in the same
   * transaction: a commit that reaches one of them then walks it and revives it.
   */
  async condemnBlobs(keyringId: string, ids: readonly Buffer[], now: number): Promise<number> {
    if (ids.length === 0) return 0;
    return this.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('blobs')
        .set({ condemned_at: now })
        .where('keyring_id', '=', keyringId)
        .where('id', 'in', hex(ids))
        .where('condemned_at', 'is', null)
        .executeTakeFirst();
      await bumpEpoch(trx, keyringId);
      return Number(result.numUpdatedRows);
    });
  }

  /** Clears the condemnation of those of `ids` that are reachable again. */
  async reviveBlobs(keyringId: string, ids: readonly Buffer[]): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await this.db
      .updateTable('blobs')
      .set({ condemned_at: null })
      .where('keyring_id', '=', keyringId)
      .where('id', 'in', hex(ids))
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /**
   * Deletes those of `ids` condemned at or before `cutoff`; a blob revived meanwhile (its
   * condemned_at cleared by a commit or an upload) stays. Resolves to the rows deleted.
   */
  async deleteCondemnedBlobs(
    keyringId: string,
    ids: readonly Buffer[],
    cutoff: number,
  ): Promise<{ id: string; pack: string; length: number }[]> {
    if (ids.length === 0) return [];
    return this.db.transaction().execute(async (trx) => {
      const where = trx
        .selectFrom('blobs')
        .select(['id', 'pack', 'length'])
        .where('keyring_id', '=', keyringId)
        .where('id', 'in', hex(ids))
        .where('condemned_at', '<=', cutoff);
      // SQLite serialises writers; on PostgreSQL the rows are locked before they are read.
      const rows = await (this.pg ? where.forUpdate() : where).execute();
      if (rows.length === 0) return [];
      await trx
        .deleteFrom('blobs')
        .where('keyring_id', '=', keyringId)
        .where(
          'id',
          'in',
          rows.map((r) => r.id),
        )
        .where('condemned_at', '<=', cutoff)
        .execute();
      return rows.map((r) => ({ id: r.id, pack: r.pack, length: Number(r.length) }));
    });
  }

  /**
   * Records a new pack and moves the blobs of `moves` into it, in one transaction. A row that
   * moved elsewhere meanwhile (a re-upload) keeps its new place. Resolves to the rows moved.
   */
  async addPack(
    keyringId: string,
    pack: { name: string; size: number; blobs: number },
    moves: readonly BlobMove[],
    now: number,
  ): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('packs')
        .values({ keyring_id: keyringId, ...pack, created_at: now })
        .onConflict((oc) =>
          oc.columns(['keyring_id', 'name']).doUpdateSet({ condemned_at: null, state: 'ok' }),
        )
        .execute();
      let moved = 0;
      // One statement per run rather than per row; rows enter an old pack only through an
      // upload of that same pack (same bytes, same offsets), so the range names the same rows.
      for (const m of moves) {
        const result = await trx
          .updateTable('blobs')
          .set((eb) => ({ pack: pack.name, offset: eb('offset', '+', m.delta) }))
          .where('keyring_id', '=', keyringId)
          .where('pack', '=', m.fromPack)
          .where('offset', '>=', m.fromStart)
          .where('offset', '<', m.fromEnd)
          .executeTakeFirst();
        moved += Number(result.numUpdatedRows);
      }
      return moved;
    });
  }

  /**
   * Condemns those of packs `names` that no blob row points into, in one transaction; resolves
   * to the names condemned now.
   */
  async condemnPacks(keyringId: string, names: readonly string[], now: number): Promise<string[]> {
    if (names.length === 0) return [];
    return this.db.transaction().execute(async (trx) => {
      const done: string[] = [];
      for (const name of names) {
        const result = await trx
          .updateTable('packs')
          .set({ condemned_at: now })
          .where('keyring_id', '=', keyringId)
          .where('name', '=', name)
          .where('condemned_at', 'is', null)
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('blobs')
                  .select(sql<number>`1`.as('one'))
                  .where('blobs.keyring_id', '=', keyringId)
                  .where('blobs.pack', '=', name),
              ),
            ),
          )
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 1) done.push(name);
      }
      return done;
    });
  }

  /** Clears the condemnation of pack `name` (blob rows point into it again). */
  async revivePack(keyringId: string, name: string): Promise<void> {
    await this.db
      .updateTable('packs')
      .set({ condemned_at: null })
      .where('keyring_id', '=', keyringId)
      .where('name', '=', name)
      .execute();
  }

  /**
   * Deletes the rows of those of packs `names` condemned at or before `cutoff` that still no
   * blob row points into, in one transaction; resolves to the names deleted (the caller then
   * deletes their files).
   */
  async deleteCondemnedPacks(
    keyringId: string,
    names: readonly string[],
    cutoff: number,
  ): Promise<string[]> {
    if (names.length === 0) return [];
    return this.db.transaction().execute(async (trx) => {
      const done: string[] = [];
      for (const name of names) {
        const result = await trx
          .deleteFrom('packs')
          .where('keyring_id', '=', keyringId)
          .where('name', '=', name)
          .where('condemned_at', '<=', cutoff)
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('blobs')
                  .select(sql<number>`1`.as('one'))
                  .where('blobs.keyring_id', '=', keyringId)
                  .where('blobs.pack', '=', name),
              ),
            ),
          )
          .executeTakeFirst();
        if (Number(result.numDeletedRows) === 1) done.push(name);
      }
      return done;
    });
  }
}

function toGcBlob(r: {
  id: string;
  pack: string;
  offset: number;
  length: number;
  type: number;
  refs: Buffer | null;
  condemned_at?: number | null;
}): GcBlob {
  return {
    id: Buffer.from(r.id, 'hex'),
    pack: r.pack,
    offset: Number(r.offset),
    length: Number(r.length),
    type: r.type,
    refs: r.refs,
    condemnedAt:
      r.condemned_at === null || r.condemned_at === undefined ? null : Number(r.condemned_at),
  };
}
