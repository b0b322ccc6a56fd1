/**
 * @module routes/backup
 * The write half of the backup protocol (DESIGN.md §4): which ids are stored, pack upload, and
 * the commit that makes a recovery point visible only once its closure is stored.
 */
import {
  BODY_LIMITS,
  BlobsEpoch,
  CommitPointRequest,
  ExistsRequest,
  ExistsResponse,
  HexId,
  MAX_PACK_UPLOAD,
  PackUploadResponse,
  Point,
  ROUTES,
} from '@coffer/api';
import { AlreadyExistsError, PackVerifier, checkBlobHeader, type VerifiedPack } from '@coffer/core';
import { StorageFullError } from '@coffer/storage';
import type { FastifyInstance } from 'fastify';
import type { Readable } from 'node:stream';
import { Type } from 'typebox';
import {
  addPending,
  getPack,
  listPacks,
  lookup,
  markClosed,
  reviveBlobs,
} from '../blob-index/index.js';
import { checkClosure, closureEpoch } from '../closure.js';
import { emptyWal } from '../db/wal-truncate.js';
import { ensureItem } from '../items/ensure-item.js';
import { requireAgent } from '../plugins/auth.js';
import { confirmPacks } from '../pack-health.js';
import { HttpError } from '../plugins/errors.js';
import { INDEX_TASK, batchIsDue, indexPendingPacks } from '../pack-indexer.js';
import { packKey } from '../pack-keys.js';
import { pointView } from '../views.js';

/** Registers the backup routes. */
export function backupRoutes(app: FastifyInstance): void {
  const { db } = app.vault;

  app.post(
    ROUTES.blobsExist,
    {
      config: { audit: 'read' },
      bodyLimit: BODY_LIMITS.idBatch,
      schema: { body: ExistsRequest, response: { 200: ExistsResponse } },
    },
    async (request) => {
      const agent = requireAgent(request);
      const { ids } = request.body as { ids: string[] };
      // Uploads this vault holds count as stored, whether or not they are indexed yet.
      await indexPendingPacks(app.vault, agent.keyring_id);
      // A blob GC condemned counts as absent, so a backup that starts after the condemnation
      // uploads it again (docs/gc.md).
      const rows = (await lookup(db, agent.keyring_id, ids)).filter(
        (r) => r.packState === 'ok' && r.condemnedAt === null,
      );
      // "Stored" must be true even when a pack file went away behind the vault's back.
      const packs = new Map(rows.map((r) => [r.pack, r.packSize]));
      const bad = await confirmPacks(app.vault, agent.keyring_id, packs);
      const present = new Set(rows.filter((r) => !bad.has(r.pack)).map((r) => r.id));
      return { missing: ids.filter((id) => !present.has(id)) };
    },
  );

  app.get(ROUTES.blobsEpoch, { schema: { response: { 200: BlobsEpoch } } }, async (request) => {
    const agent = requireAgent(request);
    // A pack file that went away behind the vault's back is found here, and marking it moves
    // the epoch, so an agent never trusts ids that were in it.
    const packs = await listPacks(db, agent.keyring_id);
    await confirmPacks(
      app.vault,
      agent.keyring_id,
      new Map(packs.filter((p) => p.state === 'ok').map((p) => [p.name, p.size])),
    );
    return { epoch: await closureEpoch(db, agent.keyring_id) };
  });

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
      const known = await getPack(db, agent.keyring_id, name);
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
        // Drain and verify anyway: the pack is indexed again from its footer below, and an
        // earlier upload may have been stored but not recorded before a crash.
        for await (const _ of checked()) void _;
      }
      if (!verified) throw new HttpError('BAD_REQUEST', 'pack upload ended early');
      const { blobs, size, headersUnchecked } = verified;
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
      await addPending(db, agent.keyring_id, { name, size, blobs }, app.vault.now());
      if (known) {
        // A pack the index knows is indexed again at once: its row may be marked missing or
        // damaged, and these bytes make it ok again.
        await indexPendingPacks(app.vault, agent.keyring_id);
      } else if (await batchIsDue(app.vault, agent.keyring_id)) {
        app.vault.lifecycle.wake(INDEX_TASK);
      }
      return { name, blobs, size, created };
    },
  );

  app.post(
    ROUTES.points,
    {
      schema: { body: CommitPointRequest, response: { 201: Point, 200: Point } },
      // A backup ends here, its rows committed, and the vault is often idle from then on: the
      // log is emptied at once (once the answer is sent) rather than by the WAL task later.
      onResponse: async (_request, reply) => {
        if (reply.statusCode === 201 && app.vault.dialect === 'sqlite') await emptyWal(db);
      },
    },
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
      await indexPendingPacks(app.vault, agent.keyring_id);
      const [manifest] = await lookup(db, agent.keyring_id, [body.manifest]);
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
        const gone = await reviveBlobs(trx, agent.keyring_id, condemned);
        if (gone.length > 0) {
          throw new HttpError(
            'CLOSURE_INCOMPLETE',
            'blobs this point refers to were collected during the backup; upload them and commit again',
            gone,
          );
        }
        row.item_id = (await ensureItem(trx, agent, body.item, row.created_at)).id;
        await markClosed(trx, agent.keyring_id, walked, epoch);
        await trx.insertInto('points').values(row).execute();
      });
      return reply.status(201).send(pointView(row));
    },
  );
}
