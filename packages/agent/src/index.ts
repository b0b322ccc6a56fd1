/** @module @coffer/agent */
export {};
