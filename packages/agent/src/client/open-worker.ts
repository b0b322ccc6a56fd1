/**
 * @module client/open-worker
 * Worker thread body: opens (decrypts, decompresses and checks) blobs for the reading thread.
 */
import { workerData } from 'node:worker_threads';
import { serveTasks } from '../worker-tasks.js';
import { openAll, type OpenKeys } from './open-pool.js';

const data = workerData as OpenKeys;
const keys = { encryptionKey: Buffer.from(data.encryptionKey), idKey: Buffer.from(data.idKey) };
serveTasks((request: Parameters<typeof openAll>[1]) => openAll(keys, request));
