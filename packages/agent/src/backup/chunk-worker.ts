/**
 * @module backup/chunk-worker
 * Worker thread body: runs a FileChunker for the walking thread (see chunk-pool).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FileChunker, type ChunkerKeys } from './file-chunker.js';
import { answer, type ChunkRequest } from './chunk-messages.js';

const chunker = new FileChunker(workerData as ChunkerKeys);

parentPort!.on('message', (request: ChunkRequest) => {
  for (const [reply, transfer] of answer(chunker, request))
    parentPort!.postMessage(reply, transfer);
});
