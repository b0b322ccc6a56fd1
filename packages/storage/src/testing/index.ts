/**
 * @module @coffer/storage/testing
 * The shared BlobStore test suite.
 */
export { runBlobStoreSuite, type BlobStoreSuiteOptions } from './blob-store-suite.js';
