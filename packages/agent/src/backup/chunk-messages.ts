/**
 * @module backup/chunk-messages
 * The messages between the walking thread and a chunking thread, and how a FileChunker answers
 * them: one place, so the worker and the inline fallback behave the same.
 */
import { transferable } from '../worker-tasks.js';
import type { FileChunker, FileFailure, Scanned, ScanRequest, Sealed } from './file-chunker.js';

export type ChunkRequest =
  | ({ kind: 'scan' } & ScanRequest)
  | { kind: 'seal'; job: number; wanted: number[] }
  | { kind: 'close'; job: number };

export type ChunkReply =
  | ({ kind: 'scanned' } & Scanned)
  | ({ kind: 'failed' } & FileFailure)
  | ({ kind: 'sealed' } & Sealed)
  | { kind: 'error'; job: number; message: string };

function segmentReply(result: Scanned | FileFailure): ChunkReply {
  return 'code' in result ? { kind: 'failed', ...result } : { kind: 'scanned', ...result };
}

/** Runs one request on `chunker`; returns the replies with the memory each may transfer. */
export function answer(chunker: FileChunker, request: ChunkRequest): [ChunkReply, ArrayBuffer[]][] {
  try {
    switch (request.kind) {
      case 'scan': {
        const scanned = chunker.scan(request);
        return [[segmentReply(scanned), 'sealed' in scanned ? transferable(scanned.sealed!) : []]];
      }
      case 'seal': {
        const [sealed, next] = chunker.seal(request.job, request.wanted);
        const replies: [ChunkReply, ArrayBuffer[]][] = [
          [{ kind: 'sealed', ...sealed }, transferable(sealed.sealed)],
        ];
        if (next) replies.push([segmentReply(next), []]);
        return replies;
      }
      case 'close':
        chunker.close(request.job);
        return [];
    }
  } catch (error) {
    chunker.close(request.job);
    return [[{ kind: 'error', job: request.job, message: (error as Error).message }, []]];
  }
}

/**
 * Copies small files' sealed chunks into one block and points `lists` at views of it. Moving
 * an ArrayBuffer per chunk cost the walking thread more than the copy: each is a backing store
 * to register, then to sweep and free on another thread.
 */
export function gather(lists: Uint8Array[][]): ArrayBuffer {
  let total = 0;
  for (const list of lists) for (const part of list) total += part.length;
  const block = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const list of lists) {
    for (let i = 0; i < list.length; i++) {
      const part = list[i]!;
      block.set(part, at);
      list[i] = block.subarray(at, at + part.length);
      at += part.length;
    }
  }
  return block.buffer as ArrayBuffer;
}
