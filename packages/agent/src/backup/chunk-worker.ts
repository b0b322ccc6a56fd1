/**
 * @module backup/chunk-worker
 * Worker thread body: runs a FileChunker for the walking thread (see chunk-pool).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FileChunker, type ChunkerKeys } from './file-chunker.js';
import { answer, gather, type ChunkReply, type ChunkRequest } from './chunk-messages.js';

const chunker = new FileChunker(workerData as ChunkerKeys);

/**
 * Replies sent back together at most. Requests come in batches (up to 64 small files per thread)
 * and a message per reply cost more than reading and hashing a small file; but one message for a
 * whole batch left the walking thread nothing to do while this thread sealed it, and this thread
 * nothing while the walking thread answered: whole initial backups of 300,000 files kept the two
 * CPUs 1.52 busy, 1.70 with replies every 16 files (and 64 directories walked at once).
 */
const REPLIES_AT_ONCE = 16;

parentPort!.on('message', (requests: ChunkRequest[]) => {
  let replies: ChunkReply[] = [];
  let transfers = new Set<ArrayBuffer>();
  let small: Uint8Array[][] = [];
  const send = (): void => {
    if (small.length > 0) transfers.add(gather(small));
    if (replies.length > 0) parentPort!.postMessage(replies, [...transfers]);
    replies = [];
    transfers = new Set();
    small = [];
  };
  for (const request of requests) {
    for (const [reply, transfer] of answer(chunker, request)) {
      replies.push(reply);
      if (reply.kind === 'scanned' && reply.sealed) small.push(reply.sealed);
      else for (const buffer of transfer) transfers.add(buffer);
    }
    if (replies.length >= REPLIES_AT_ONCE) send();
  }
  send();
});
