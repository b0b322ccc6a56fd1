/**
 * @module program/gc
 * `coffer gc VAULT`: garbage collection and repack, run by the vault on demand.
 */
import type { Command } from 'commander';
import { adminOptions, type Lazy } from './options.js';

/** Adds `coffer gc`. */
export function addGcCommands(program: Command, lazy: Lazy): void {
  adminOptions(
    program
      .command('gc <vault>')
      .description(
        'collect garbage now: delete data no recovery point needs and repack half-empty packs (the vault does it, with no key; it also runs daily)',
      )
      .option('--wait', 'wait for the GC job to end and print what it reclaimed')
      .addHelpText('after', '\nExample:\n  coffer gc my-vault --wait'),
  ).action(lazy(() => import('../commands/gc.js'), 'gc'));
}
