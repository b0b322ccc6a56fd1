/**
 * @module backup/chunk-worker
 * Worker thread body: runs a FileChunker for the walking thread (see chunk-pool).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FileChunker, type ChunkerKeys } from './file-chunker.js';
import { ChunkServer, type ChunkBatch } from './chunk-messages.js';

/**
 * Replies sent back together at most. Requests come in batches (up to 64 small files per thread)
 * and a message per reply cost more than reading and hashing a small file; but one message for a
 * whole batch left the walking thread nothing to do while this thread sealed it, and this thread
 * nothing while the walking thread answered: whole initial backups of 300,000 files kept the two
 * CPUs 1.52 busy, 1.70 with replies every 16 files (and 64 directories walked at once).
 */
const REPLIES_AT_ONCE = 16;

const server = new ChunkServer(new FileChunker(workerData as ChunkerKeys), REPLIES_AT_ONCE);

parentPort!.on('message', (batch: ChunkBatch) => {
  server.serve(batch, (answers, transfer) => parentPort!.postMessage(answers, transfer));
});
