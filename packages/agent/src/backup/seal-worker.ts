/**
 * @module backup/seal-worker
 * Worker thread body: compresses and encrypts blobs so that sealing uses every core.
 */
import { sealBlob, type BlobType } from '@coffer/core';
import { parentPort, workerData } from 'node:worker_threads';

export interface SealRequest {
  seq: number;
  type: BlobType;
  id: Uint8Array;
  plaintext: Uint8Array;
}
export type SealResponse = { seq: number; sealed: Uint8Array } | { seq: number; error: string };

const { encryptionKey } = workerData as { encryptionKey: Uint8Array };
const keys = { encryptionKey: Buffer.from(encryptionKey) };

parentPort!.on('message', (request: SealRequest) => {
  try {
    const sealed = sealBlob(
      keys,
      request.type,
      Buffer.from(request.id),
      Buffer.from(
        request.plaintext.buffer,
        request.plaintext.byteOffset,
        request.plaintext.byteLength,
      ),
    );
    const out = new Uint8Array(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    const transfer =
      sealed.byteOffset === 0 && sealed.buffer.byteLength === sealed.byteLength
        ? [sealed.buffer as ArrayBuffer]
        : [];
    parentPort!.postMessage({ seq: request.seq, sealed: out } satisfies SealResponse, transfer);
  } catch (error) {
    parentPort!.postMessage({
      seq: request.seq,
      error: (error as Error).message,
    } satisfies SealResponse);
  }
});
