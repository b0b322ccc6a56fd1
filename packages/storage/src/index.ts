/** @module @coffer/storage */
export {};
