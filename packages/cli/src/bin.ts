#!/usr/bin/env node
import { main } from './main.js';
import { tuneV8 } from './v8-flags.js';

tuneV8();

// A reader that stops early (`coffer ls -R latest | head`) is not an error of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});
process.exitCode = await main(process.argv);
