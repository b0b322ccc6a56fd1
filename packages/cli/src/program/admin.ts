/**
 * @module program/admin
 * `coffer admin ...`: what the service admin does on the vault's own host, with file access to
 * its data directory.
 */
import type { Command } from 'commander';
import { example, type Lazy } from './options.js';

/** Adds `coffer admin` and its subcommands. */
export function addAdminCommands(program: Command, lazy: Lazy): void {
  const admin = example(
    program.command('admin').description("the service admin's tools on the vault host"),
    'coffer admin reset-token --data /srv/coffer',
  );
  example(
    admin
      .command('reset-token')
      .description('revoke every service-admin token and write a new one to DATA/admin.token')
      .requiredOption('--data <dir>', "the vault's data directory")
      .option('--db <url>', "the vault's metadata database, if it runs with --db postgres://…")
      .option('--json', 'print JSON'),
    'coffer admin reset-token --data /srv/coffer --db postgres://coffer@db:5432/coffer',
  ).action(lazy(() => import('../commands/admin-reset-token.js'), 'adminResetToken'));
}
