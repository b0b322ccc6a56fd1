/** @module @coffer/api */
export {};
