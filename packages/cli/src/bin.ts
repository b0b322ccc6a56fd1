#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
import { main } from './main.js';

/**
 * undici parses HTTP with llhttp compiled to WebAssembly. V8 first compiles it with Liftoff, then
 * compiles its hot parser function again with TurboFan on a background thread: about 35 MiB of
 * compiler memory for a few tenths of a second, at every command's first request to the vault,
 * while scrypt holds its own memory (a no-change backup of 100,000 files peaked there, 187 MiB).
 * Liftoff's code parses the few header bytes of a response at no measured cost.
 */
setFlagsFromString('--liftoff-only');

// A reader that stops early (`coffer ls -R latest | head`) is not an error of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});
process.exitCode = await main(process.argv);
