/**
 * @module chunker/params
 * Chunker parameters as stored in the keyring (docs/format.md §8).
 */
import { UnsupportedError } from '../errors.js';

export interface ChunkerParams {
  name: 'fastcdc-gear32-v1';
  min: number;
  avg: number;
  max: number;
}

export const DEFAULT_CHUNKER_PARAMS: ChunkerParams = {
  name: 'fastcdc-gear32-v1',
  min: 512 * 1024,
  avg: 1024 * 1024,
  max: 8 * 1024 * 1024,
};

/** Refuses parameters this version cannot chunk with. */
export function validateChunkerParams(p: ChunkerParams): void {
  const ok =
    p.name === 'fastcdc-gear32-v1' &&
    [p.min, p.avg, p.max].every((v) => Number.isSafeInteger(v)) &&
    p.min >= 64 &&
    p.min < p.avg &&
    p.avg < p.max &&
    p.max <= 64 * 1024 * 1024 &&
    (p.avg & (p.avg - 1)) === 0 &&
    p.avg >= 256;
  if (!ok) {
    throw new UnsupportedError(
      `chunker ${p.name} min=${p.min} avg=${p.avg} max=${p.max}: need 64 <= min < avg < max <= 64 MiB, avg a power of two`,
    );
  }
}
