/**
 * @module @coffer/cli
 * The `coffer` command.
 */
export { main, buildProgram } from './main.js';
