/** @module @coffer/vault */
export {};
