/**
 * @module program/data
 * Commands run on a protected machine: register, backup, points, ls, find, restore, verify.
 */
import type { Command } from 'commander';
import { agentOptions, collect, example, type Lazy } from './options.js';

/** Adds the commands that back up and read this machine's data. */
export function addDataCommands(program: Command, lazy: Lazy): void {
  example(
    agentOptions(
      program
        .command('register')
        .description('register this machine into a vault')
        .requiredOption('--credentials <file>', 'the file from "coffer vault credentials"')
        .option('--name <machine>', 'the name shown in the vault (default: the host name)')
        .option(
          '--keyring <file>',
          "join this keyring (another machine's keyring.json) instead of creating one; asks for its passphrase",
        )
        .option(
          '--unattended',
          'also store the opened keys (0600) so the agent daemon backs up without the passphrase',
        ),
    ),
    'coffer register --credentials my-vault.credentials',
    'coffer register --credentials my-vault.credentials --keyring first-machine.keyring.json',
  ).action(lazy(() => import('../commands/register.js'), 'register'));

  example(
    agentOptions(
      program
        .command('backup <path...>')
        .description('back up files and folders; prints the new recovery point')
        .option('--item <name>', 'the protected item this backup belongs to', 'default')
        .option(
          '--exclude <glob>',
          'skip matching names (or paths, with /); repeatable',
          collect,
          [],
        ),
    ),
    "coffer backup /home /etc --exclude '*.cache' --exclude '/home/*/tmp'",
  ).action(lazy(() => import('../commands/backup.js'), 'backup'));

  example(
    agentOptions(
      program
        .command('points')
        .description('list recovery points')
        .option('--item <name>', 'only this item')
        .option('--deleted', 'only soft-deleted points, with the date each is purged')
        .option('--token <token>', 'with --deleted: as a tenant user (default: $COFFER_TOKEN)')
        .option('--vault <vault>', 'with --deleted and a token: the vault (name or id)'),
      true,
    ),
    'coffer points --item default',
  ).action(lazy(() => import('../commands/points.js'), 'points'));

  example(
    agentOptions(
      program
        .command('ls <point> [path]')
        .description(
          'list a directory of a recovery point (POINT: id, prefix or latest; a relative PATH is below the backed-up path)',
        )
        .option('--item <name>', 'only points of this item (and "latest" among them)')
        .option('-R, --recursive', 'list everything below PATH')
        .option('-l, --long', 'mode, owner, size and time of each entry'),
      true,
    ),
    'coffer ls latest /home/ann --recursive --long',
  ).action(lazy(() => import('../commands/ls.js'), 'ls'));

  example(
    agentOptions(
      program
        .command('find <pattern>')
        .description(
          'find files by name (a glob; with / it matches the whole path) in every point, newest first',
        )
        .option('--point <point>', 'search only this point (id, prefix or latest)')
        .option('--item <name>', 'only points of this item'),
      true,
    ),
    "coffer find 'report*.pdf'",
  ).action(lazy(() => import('../commands/find.js'), 'find'));

  example(
    agentOptions(
      program
        .command('restore <point>')
        .description('restore a recovery point (POINT: id, prefix or latest)')
        .option('--item <name>', 'only points of this item (and "latest" among them)')
        .option('--target <dir>', 'where to restore (paths are recreated below it)')
        .option('--original', 'restore to where the files were backed up from (needs --conflict)')
        .option(
          '--path <p>',
          'restore only this file or folder (relative: below the backed-up path); repeatable',
          collect,
          [],
        )
        .option(
          '--conflict <mode>',
          'when a file exists: overwrite, skip or keep-both (default overwrite; required with --original)',
        )
        .option(
          '--special-files',
          'create device nodes and keep set-uid/set-gid bits (the default with --original)',
        )
        .option('--no-special-files', 'never create device nodes or set-uid/set-gid files'),
      true,
    ),
    'coffer restore latest --target /tmp/r --path docs --conflict keep-both',
    'coffer restore latest --original --conflict skip',
  ).action(lazy(() => import('../commands/restore.js'), 'restore'));

  example(
    agentOptions(
      program
        .command('verify [point]')
        .description(
          'check recovery points (all, or POINT); --read-data downloads and checks every blob',
        )
        .option('--item <name>', 'only points of this item (and "latest" among them)')
        .option('--read-data', 'download and open every blob'),
      true,
    ),
    'coffer verify latest --read-data',
  ).action(lazy(() => import('../commands/verify.js'), 'verify'));
}
