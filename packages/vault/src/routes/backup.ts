/**
 * @module routes/backup
 * The write half of the backup protocol (DESIGN.md §4): which ids are stored, pack upload, and
 * the commit that makes a recovery point visible only once its closure is stored.
 */
import {
  BODY_LIMITS,
  CommitPointRequest,
  ExistsRequest,
  ExistsResponse,
  HexId,
  MAX_PACK_UPLOAD,
  PackUploadResponse,
  Point,
  ROUTES,
} from '@coffer/api';
import {
  AlreadyExistsError,
  PackVerifier,
  checkBlobHeader,
  idHex,
  type VerifiedPack,
} from '@coffer/core';
import { StorageFullError } from '@coffer/storage';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Readable } from 'node:stream';
import { Type } from 'typebox';
import { checkClosure } from '../closure.js';
import { ensureItem } from '../items/ensure-item.js';
import { requireAgent } from '../plugins/auth.js';
import { confirmPacks } from '../pack-health.js';
import { HttpError } from '../plugins/errors.js';
import { packKey } from '../pack-keys.js';
import { pointView } from '../views.js';

const INSERT_BATCH = 400;

/** Registers the backup routes. */
export function backupRoutes(app: FastifyInstance): void {
  const { db } = app.vault;

  /**
   * Rows of `ids` whose pack is ok, with the pack's recorded size. A blob GC condemned counts
   * as absent, so a backup that starts after the condemnation uploads it again (docs/gc.md).
   */
  function storedBlobs(keyringId: string, ids: string[]) {
    return db
      .selectFrom('blobs')
      .innerJoin('packs', (join) =>
        join
          .onRef('packs.keyring_id', '=', 'blobs.keyring_id')
          .onRef('packs.name', '=', 'blobs.pack'),
      )
      .select(['blobs.id', 'blobs.pack', 'packs.size'])
      .where('blobs.keyring_id', '=', keyringId)
      .where('blobs.id', 'in', ids)
      .where('packs.state', '=', 'ok')
      .where('blobs.condemned_at', 'is', null)
      .execute();
  }

  app.post(
    ROUTES.blobsExist,
    {
      bodyLimit: BODY_LIMITS.idBatch,
      schema: { body: ExistsRequest, response: { 200: ExistsResponse } },
    },
    async (request) => {
      const agent = requireAgent(request);
      const { ids } = request.body as { ids: string[] };
      const present = new Set<string>();
      for (let i = 0; i < ids.length; i += INSERT_BATCH) {
        const rows = await storedBlobs(agent.keyring_id, ids.slice(i, i + INSERT_BATCH));
        // "Stored" must be true even when a pack file went away behind the vault's back.
        const packs = new Map(rows.map((r) => [r.pack, r.size]));
        const bad = await confirmPacks(app.vault, agent.keyring_id, packs);
        for (const row of rows) if (!bad.has(row.pack)) present.add(row.id);
      }
      return { missing: ids.filter((id) => !present.has(id)) };
    },
  );

  app.put(
    ROUTES.packUpload,
    {
      // Pack bodies stream straight to the blob store; Fastify must not buffer them.
      config: { stream: true },
      bodyLimit: MAX_PACK_UPLOAD,
      schema: { params: Type.Object({ pack: HexId }), response: { 200: PackUploadResponse } },
    },
    async (request) => {
      const agent = requireAgent(request);
      const { pack: name } = request.params as { pack: string };
      const body = request.body as Readable | undefined;
      if (!body || typeof body.pipe !== 'function') {
        throw new HttpError('BAD_REQUEST', 'send the pack as application/octet-stream');
      }
      const verifier = new PackVerifier();
      let received = 0;
      let verified: VerifiedPack | undefined;
      // Read by hand, so that a store failure midway leaves the rest of the body to drain.
      const chunks = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      // The pack is hashed and parsed as it streams to storage; if it does not match its name,
      // the source throws before the store renames the temp file, so nothing is stored.
      async function* checked(): AsyncGenerator<Uint8Array> {
        for (;;) {
          const next = await chunks.next();
          if (next.done) break;
          const chunk = next.value;
          received += chunk.length;
          if (received > MAX_PACK_UPLOAD) {
            throw new HttpError(
              'PAYLOAD_TOO_LARGE',
              `packs are limited to ${MAX_PACK_UPLOAD} bytes`,
            );
          }
          verifier.update(chunk);
          yield chunk;
        }
        verified ??= verifier.finish(name);
      }
      let created = true;
      const key = packKey(agent.keyring_id, name);
      const known = await db
        .selectFrom('packs')
        .select(['state', 'size'])
        .where('keyring_id', '=', agent.keyring_id)
        .where('name', '=', name)
        .executeTakeFirst();
      const stored = known ? await app.vault.store.head(key) : undefined;
      // A pack found missing or damaged is replaced by these verified bytes of the same name.
      const replace = known !== undefined && (known.state !== 'ok' || stored?.size !== known.size);
      try {
        await app.vault.store.put(key, checked(), { ifAbsent: !replace });
      } catch (error) {
        if (error instanceof StorageFullError) {
          // Answer only once the request is read, so the agent sees the answer, not a reset.
          for (let next = await chunks.next(); !next.done; next = await chunks.next());
        }
        if (!(error instanceof AlreadyExistsError)) throw error;
        created = false;
        // Drain and verify anyway: the index is rebuilt from these entries below, and an
        // earlier upload may have been stored but not indexed before a crash.
        for await (const _ of checked()) void _;
      }
      if (!verified) throw new HttpError('BAD_REQUEST', 'pack upload ended early');
      const { entries, size, headersUnchecked } = verified;
      // Headers that streamed past before the footer was known (packs over 64 MiB) are read
      // back; a pack that lies about a blob's type is removed again, never indexed.
      try {
        for (const e of headersUnchecked) {
          checkBlobHeader(await app.vault.store.getRange(key, e.offset, 2), e);
        }
      } catch (error) {
        if (created) await app.vault.store.delete(key);
        throw error;
      }
      const now = app.vault.now();
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('packs')
          .values({
            keyring_id: agent.keyring_id,
            name,
            size,
            blobs: entries.length,
            created_at: now,
          })
          .onConflict((oc) =>
            oc
              .columns(['keyring_id', 'name'])
              .doUpdateSet({ state: 'ok', checked_at: now, condemned_at: null })
              // A pack GC condemned is in use again once its blobs are indexed here again.
              .where((eb) =>
                eb.or([eb('packs.state', '!=', 'ok'), eb('packs.condemned_at', 'is not', null)]),
              ),
          )
          .execute();
        for (let i = 0; i < entries.length; i += INSERT_BATCH) {
          const rows = entries.slice(i, i + INSERT_BATCH).map((e) => ({
            keyring_id: agent.keyring_id,
            id: idHex(e.id),
            pack: name,
            offset: e.offset,
            length: e.length,
            type: e.type,
            refs: e.refs.length > 0 ? Buffer.concat(e.refs) : null,
          }));
          await trx
            .insertInto('blobs')
            .values(rows)
            .onConflict((oc) =>
              oc
                .columns(['keyring_id', 'id'])
                .doUpdateSet((eb) => ({
                  pack: eb.ref('excluded.pack'),
                  offset: eb.ref('excluded.offset'),
                  length: eb.ref('excluded.length'),
                  type: eb.ref('excluded.type'),
                  refs: eb.ref('excluded.refs'),
                  closed: 0,
                  condemned_at: null,
                }))
                // A copy indexed in a pack that is not ok moves here (old points heal too);
                // the rows of a damaged pack are never deleted, as most of it may still read.
                // A blob GC condemned moves here too and lives again (docs/gc.md).
                .where(
                  sql<boolean>`blobs.condemned_at IS NOT NULL OR NOT EXISTS (SELECT 1 FROM packs p WHERE p.keyring_id = blobs.keyring_id AND p.name = blobs.pack AND p.state = 'ok')`,
                ),
            )
            .execute();
        }
      });
      return { name, blobs: entries.length, size, created };
    },
  );

  app.post(
    ROUTES.points,
    { schema: { body: CommitPointRequest, response: { 201: Point, 200: Point } } },
    async (request, reply) => {
      const agent = requireAgent(request);
      const body = request.body as CommitPointRequest;
      if (body.joinKey !== undefined) {
        // A keyring made before join keys existed learns its key from its own agents, once.
        await db
          .updateTable('keyrings')
          .set({ join_key: body.joinKey })
          .where('id', '=', agent.keyring_id)
          .where('join_key', 'is', null)
          .execute();
      }
      // Point ids are manifest ids and mean something only inside their keyring: a point of
      // another keyring must answer like an id nobody committed.
      const existing = await db
        .selectFrom('points')
        .selectAll()
        .where('keyring_id', '=', agent.keyring_id)
        .where('id', '=', body.manifest)
        .executeTakeFirst();
      if (existing) {
        if (existing.agent_id !== agent.id) throw new HttpError('ALREADY_EXISTS', 'point exists');
        return reply.status(200).send(pointView(existing));
      }
      const manifest = await db
        .selectFrom('blobs')
        .select('type')
        .where('keyring_id', '=', agent.keyring_id)
        .where('id', '=', body.manifest)
        .executeTakeFirst();
      if (manifest && manifest.type !== 3) {
        throw new HttpError('BAD_REQUEST', `blob ${body.manifest} is not a manifest`);
      }
      const { missing, walked, epoch, condemned } = await checkClosure(
        app.vault,
        agent.keyring_id,
        body.manifest,
      );
      if (missing.length > 0) {
        throw new HttpError(
          'CLOSURE_INCOMPLETE',
          `the point refers to ${missing.length} blob(s) the vault does not hold; upload them and commit again`,
          missing,
        );
      }
      const row = {
        id: body.manifest,
        vault_id: agent.vault_id,
        agent_id: agent.id,
        keyring_id: agent.keyring_id,
        item: body.item,
        parent: body.parent ?? null,
        hostname: body.hostname,
        start_time: Date.parse(body.startTime),
        end_time: Date.parse(body.endTime),
        created_at: app.vault.now(),
        stats: JSON.stringify(body.stats),
        item_id: null as string | null,
      };
      await db.transaction().execute(async (trx) => {
        // Blobs GC condemned live again with this point; one GC deleted meanwhile (its grace
        // ran out during this backup) fails the commit, and the agent uploads it again.
        for (let i = 0; i < condemned.length; i += INSERT_BATCH) {
          const batch = condemned.slice(i, i + INSERT_BATCH);
          const revived = await trx
            .updateTable('blobs')
            .set({ condemned_at: null })
            .where('keyring_id', '=', agent.keyring_id)
            .where('id', 'in', batch)
            .executeTakeFirst();
          if (Number(revived.numUpdatedRows) !== batch.length) {
            const present = await trx
              .selectFrom('blobs')
              .select('id')
              .where('keyring_id', '=', agent.keyring_id)
              .where('id', 'in', batch)
              .execute();
            const kept = new Set(present.map((p) => p.id));
            throw new HttpError(
              'CLOSURE_INCOMPLETE',
              'blobs this point refers to were collected during the backup; upload them and commit again',
              batch.filter((id) => !kept.has(id)),
            );
          }
        }
        row.item_id = (await ensureItem(trx, agent, body.item, row.created_at)).id;
        for (let i = 0; i < walked.length; i += INSERT_BATCH) {
          await trx
            .updateTable('blobs')
            .set({ closed: epoch })
            .where('keyring_id', '=', agent.keyring_id)
            .where('id', 'in', walked.slice(i, i + INSERT_BATCH))
            .execute();
        }
        await trx.insertInto('points').values(row).execute();
      });
      return reply.status(201).send(pointView(row));
    },
  );
}
