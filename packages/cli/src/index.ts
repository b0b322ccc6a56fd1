/** @module @coffer/cli */
export {};
