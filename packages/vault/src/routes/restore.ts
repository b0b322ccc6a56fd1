/**
 * @module routes/restore
 * The read half: where blobs are, and ranged reads of packs, for an agent's own data or data
 * it was granted.
 */
import {
  BODY_LIMITS,
  EntityId,
  HexId,
  LocateRequest,
  LocateResponse,
  PackCheckResponse,
  PackList,
  PackRangesRequest,
  ROUTES,
} from '@coffer/api';
import type { FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import { Type } from 'typebox';
import { getPack, listPacks, locate } from '../blob-index/index.js';
import { readableAgent } from '../plugins/auth.js';
import { HttpError } from '../plugins/errors.js';
import { markPack, readFailure, recheckPack } from '../pack-health.js';
import { indexPendingPacks } from '../pack-indexer.js';
import { packKey } from '../pack-keys.js';

const RANGE = /^bytes=(\d{1,15})-(\d{1,15})$/;
/** Largest single ranged read; agents coalesce nearby blobs up to this. */
const MAX_RANGE = 128 * 1024 * 1024;

/** Registers the restore routes. */
export function restoreRoutes(app: FastifyInstance): void {
  const { db } = app.vault;
  const AgentParams = Type.Object({ agent: EntityId });

  app.post(
    ROUTES.agentLocate,
    {
      config: { audit: 'read' },
      bodyLimit: BODY_LIMITS.idBatch,
      schema: { params: AgentParams, body: LocateRequest, response: { 200: LocateResponse } },
    },
    async (request) => {
      const { agent: agentId } = request.params as { agent: string };
      const agent = await readableAgent(app, request, agentId);
      const { ids } = request.body as { ids: string[] };
      const placements = await locate(db, agent.keyring_id, ids);
      const locations = [];
      const missing = [];
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        const at = placements[i];
        if (at) locations.push({ id, ...at });
        else missing.push(id);
      }
      return { locations, missing };
    },
  );

  app.get(
    ROUTES.agentPacks,
    { schema: { params: AgentParams, response: { 200: PackList } } },
    async (request) => {
      const { agent: agentId } = request.params as { agent: string };
      const agent = await readableAgent(app, request, agentId);
      await indexPendingPacks(app.vault, agent.keyring_id);
      const packs = await listPacks(db, agent.keyring_id);
      return { packs: packs.map(({ name, size }) => ({ name, size })) };
    },
  );

  app.get(
    ROUTES.agentPack,
    { schema: { params: Type.Object({ agent: EntityId, pack: HexId }) } },
    async (request, reply) => {
      const { agent: agentId, pack: name } = request.params as { agent: string; pack: string };
      const agent = await readableAgent(app, request, agentId);
      const pack = await packNamed(agent.keyring_id, name);
      if (!pack) throw new HttpError('NOT_FOUND', `no pack ${name}`);
      const key = packKey(agent.keyring_id, name);
      const range = request.headers.range;
      if (range === undefined) {
        // Checked before streaming: a short file would otherwise end the answer midway.
        const info = await app.vault.store.head(key);
        const state = !info ? 'missing' : info.size !== pack.size ? 'damaged' : undefined;
        if (state) throw await unreadable(agent.keyring_id, name, state);
        const stream = await readOrMark(agent.keyring_id, name, () => app.vault.store.get(key));
        reply.header('content-type', 'application/octet-stream');
        reply.header('content-length', pack.size);
        return reply.send(Readable.from(stream));
      }
      const match = RANGE.exec(range);
      if (!match) throw new HttpError('BAD_REQUEST', 'Range must be bytes=FIRST-LAST');
      const first = Number(match[1]);
      const last = Number(match[2]);
      if (last < first || last - first + 1 > MAX_RANGE) {
        throw new HttpError(
          'BAD_REQUEST',
          `Range must be bytes=FIRST-LAST, at most ${MAX_RANGE} bytes`,
        );
      }
      if (last >= pack.size) {
        reply.header('content-range', `bytes */${pack.size}`);
        throw new HttpError(
          'INVALID_RANGE',
          `pack ${name} has ${pack.size} bytes; bytes ${first}-${last} are beyond its end`,
        );
      }
      const bytes = await readOrMark(agent.keyring_id, name, () =>
        app.vault.store.getRange(key, first, last - first + 1),
      );
      return reply
        .status(206)
        .header('content-type', 'application/octet-stream')
        .header('content-range', `bytes ${first}-${last}/${pack.size}`)
        .send(bytes);
    },
  );

  app.post(
    ROUTES.agentPackRanges,
    {
      // A read: it changes nothing, so it is not an audited call.
      config: { audit: false },
      schema: { params: Type.Object({ agent: EntityId, pack: HexId }), body: PackRangesRequest },
    },
    async (request, reply) => {
      const { agent: agentId, pack: name } = request.params as { agent: string; pack: string };
      const { ranges } = request.body as PackRangesRequest;
      const agent = await readableAgent(app, request, agentId);
      const pack = await packNamed(agent.keyring_id, name);
      if (!pack) throw new HttpError('NOT_FOUND', `no pack ${name}`);
      let total = 0;
      for (const [offset, length] of ranges) {
        if (offset + length > pack.size) {
          reply.header('content-range', `bytes */${pack.size}`);
          throw new HttpError(
            'INVALID_RANGE',
            `pack ${name} has ${pack.size} bytes; bytes ${offset}-${offset + length - 1} are beyond its end`,
          );
        }
        total += length;
      }
      if (total > MAX_RANGE) {
        throw new HttpError('BAD_REQUEST', `at most ${MAX_RANGE} bytes in one request`);
      }
      // Only the ranges asked for are read: the span around a pack's trees is most of the pack,
      // and a verify asks for them in some sixty requests.
      const out = await readOrMark(agent.keyring_id, name, () =>
        app.vault.store.getRanges(packKey(agent.keyring_id, name), ranges),
      );
      return reply.header('content-type', 'application/octet-stream').send(out);
    },
  );

  app.post(
    ROUTES.agentPackCheck,
    {
      schema: {
        params: Type.Object({ agent: EntityId, pack: HexId }),
        response: { 200: PackCheckResponse },
      },
    },
    async (request) => {
      const { agent: agentId, pack: name } = request.params as { agent: string; pack: string };
      const agent = await readableAgent(app, request, agentId);
      // Any reader may read a pack, but only the keyring's own agents may make the vault re-hash
      // one; what they claim changes nothing until the vault's own check confirms it.
      const caller = request.principal;
      if (caller?.kind !== 'agent' || caller.agent.keyring_id !== agent.keyring_id) {
        throw new HttpError(
          'FORBIDDEN',
          'only agents of this keyring may report damage to its packs',
        );
      }
      // Indexes a pending upload of that name first, so the recheck below finds its row.
      await packNamed(agent.keyring_id, name);
      const state = await recheckPack(app.vault, agent.keyring_id, name);
      if (!state) throw new HttpError('NOT_FOUND', `no pack ${name}`);
      return { name, state };
    },
  );

  /** Pack `name` of the keyring; an upload not indexed yet is indexed first. */
  async function packNamed(keyringId: string, name: string) {
    const pack = await getPack(db, keyringId, name);
    if (pack) return pack;
    await indexPendingPacks(app.vault, keyringId);
    return getPack(db, keyringId, name);
  }

  /** Marks the pack and returns the error that tells the reader why it cannot be read. */
  async function unreadable(
    keyringId: string,
    name: string,
    state: 'missing' | 'damaged',
  ): Promise<HttpError> {
    await markPack(app.vault, keyringId, name, state);
    return state === 'missing'
      ? new HttpError('PACK_MISSING', `pack ${name} is missing from the vault's storage`)
      : new HttpError(
          'PACK_DAMAGED',
          `pack ${name} is damaged in the vault's storage (its size differs from the recorded one)`,
        );
  }

  async function readOrMark<T>(
    keyringId: string,
    name: string,
    read: () => Promise<T>,
  ): Promise<T> {
    try {
      return await read();
    } catch (error) {
      const state = readFailure(error);
      if (state) throw await unreadable(keyringId, name, state);
      throw error;
    }
  }
}
