/**
 * @module backup/chunk-worker
 * Worker thread body: runs a FileChunker for the walking thread (see chunk-pool).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FileChunker, type ChunkerKeys } from './file-chunker.js';
import { answer, gather, type ChunkReply, type ChunkRequest } from './chunk-messages.js';

const chunker = new FileChunker(workerData as ChunkerKeys);

// Requests come in batches and the replies go back as one message: for small files a message
// per request cost more than reading and hashing the file.
parentPort!.on('message', (requests: ChunkRequest[]) => {
  const replies: ChunkReply[] = [];
  const transfers = new Set<ArrayBuffer>();
  const small: Uint8Array[][] = [];
  for (const request of requests) {
    for (const [reply, transfer] of answer(chunker, request)) {
      replies.push(reply);
      if (reply.kind === 'scanned' && reply.sealed) small.push(reply.sealed);
      else for (const buffer of transfer) transfers.add(buffer);
    }
  }
  if (small.length > 0) transfers.add(gather(small));
  if (replies.length > 0) parentPort!.postMessage(replies, [...transfers]);
});
