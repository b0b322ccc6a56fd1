/**
 * @module @coffer/core
 * Coffer's format: keys, chunker, blob codec, packs, trees and recovery point manifests.
 * No I/O beyond streams handed in; specified byte for byte in docs/format.md.
 */
export * from './errors.js';
