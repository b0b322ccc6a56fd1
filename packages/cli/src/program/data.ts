/**
 * @module program/data
 * Commands run on a protected machine: register, backup, points, ls, restore, verify.
 */
import type { Command } from 'commander';
import { agentOptions, collect, type Lazy } from './options.js';

/** Adds the commands that back up and read this machine's data. */
export function addDataCommands(program: Command, lazy: Lazy): void {
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
      )
      .addHelpText(
        'after',
        '\nExample:\n  coffer register --credentials my-vault.credentials\n' +
          '  coffer register --credentials my-vault.credentials --keyring first-machine.keyring.json',
      ),
  ).action(lazy(() => import('../commands/register.js'), 'register'));

  agentOptions(
    program
      .command('backup <path...>')
      .description('back up files and folders; prints the new recovery point')
      .option('--item <name>', 'the protected item this backup belongs to', 'default')
      .option('--exclude <glob>', 'skip matching names (or paths, with /); repeatable', collect, [])
      .addHelpText(
        'after',
        "\nExample:\n  coffer backup /home /etc --exclude '*.cache' --exclude /home/*/tmp",
      ),
  ).action(lazy(() => import('../commands/backup.js'), 'backup'));

  agentOptions(
    program
      .command('points')
      .description('list recovery points')
      .option('--item <name>', 'only this item'),
    true,
  ).action(lazy(() => import('../commands/points.js'), 'points'));

  agentOptions(
    program
      .command('ls <point> [path]')
      .option('--item <name>', 'only points of this item (and "latest" among them)')
      .description('list a directory of a recovery point (POINT: id, prefix or latest)'),
    true,
  ).action(lazy(() => import('../commands/ls.js'), 'ls'));

  agentOptions(
    program
      .command('restore <point>')
      .option('--item <name>', 'only points of this item (and "latest" among them)')
      .description('restore a recovery point (POINT: id, prefix or latest)')
      .requiredOption('--target <dir>', 'where to restore (paths are recreated below it)')
      .option('--path <p>', 'restore only this file or folder; repeatable', collect, [])
      .option('--conflict <mode>', 'when a file exists: overwrite, skip or keep-both', 'overwrite')
      .addHelpText(
        'after',
        '\nExample:\n  coffer restore latest --target /tmp/r --path /home/ann/docs --conflict keep-both',
      ),
    true,
  ).action(lazy(() => import('../commands/restore.js'), 'restore'));

  agentOptions(
    program
      .command('verify [point]')
      .option('--item <name>', 'only points of this item (and "latest" among them)')
      .description(
        'check recovery points (all, or POINT); --read-data downloads and checks every blob',
      )
      .option('--read-data', 'download and open every blob'),
    true,
  ).action(lazy(() => import('../commands/verify.js'), 'verify'));
}
