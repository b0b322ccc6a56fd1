/**
 * @module gc
 * Garbage collection and repack, run by the vault with no key (docs/gc.md): the on-demand
 * request and the counts a finished GC job reports in its `result`.
 */
import { Type, type Static } from 'typebox';
import { Job } from './jobs.js';

/** The answer to a GC request: the queued job, or the one queued or running already. */
export const GcRunResponse = Type.Object({ job: Job, alreadyRunning: Type.Boolean() });
export type GcRunResponse = Static<typeof GcRunResponse>;

/** What a GC job's `result` holds: counts, summed over the vault's keyrings. */
export interface GcJobResult {
  /** Bytes and number of stored packs before and after the run (condemned packs included). */
  bytesBefore: number;
  bytesAfter: number;
  packsBefore: number;
  packsAfter: number;
  blobsBefore: number;
  blobsAfter: number;
  /** Blobs reachable from a point (live or soft-deleted). */
  blobsLive: number;
  /** Blobs found unreachable this run; deleted by a run after the grace period. */
  blobsCondemned: number;
  /** Condemned blobs found reachable again. */
  blobsRevived: number;
  /** Blob rows deleted, and their sealed bytes. */
  blobsSwept: number;
  bytesSwept: number;
  /** Old packs whose blobs were copied into new packs, and the new packs written. */
  packsRepacked: number;
  packsWritten: number;
  /** Pack files deleted (empty for longer than the grace period). */
  packsDeleted: number;
  /** Bytes of the mark set (the largest of the keyrings'). */
  markSetBytes: number;
}
