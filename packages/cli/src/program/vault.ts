/**
 * @module program/vault
 * `coffer vault ...`: run a vault and manage vaults.
 */
import type { Command } from 'commander';
import { adminOptions, example, type Lazy } from './options.js';

/** Adds `coffer vault` and its subcommands. */
export function addVaultCommands(program: Command, lazy: Lazy): void {
  const vault = example(
    program.command('vault').description('run and manage vaults'),
    'coffer vault list',
  );
  example(
    vault
      .command('serve')
      .description('run the vault service')
      .option('--data <dir>', 'data directory (default ./coffer-data)')
      .option('--listen <host-port>', 'address to listen on (default 127.0.0.1:8443)')
      .option(
        '--db <url>',
        'metadata database: sqlite:PATH (default DATA/metadata.sqlite) or postgres://…',
      )
      .option('--public-url <url>', 'the URL agents use (default https://HOST:PORT)')
      .option('--log-level <level>', 'fatal, error, warn, info, debug', 'warn')
      .option(
        '--smtp <url>',
        'SMTP server for alert e-mails: smtp://[USER:PASSWORD@]HOST:PORT or smtps://… (default: $COFFER_SMTP)',
      )
      .option(
        '--mail-from <address>',
        'the From address of alert e-mails (default coffer@HOSTNAME)',
      )
      .option(
        '--job-timeout <seconds>',
        'fail a running job whose agent sent no progress for this long (default 180)',
      )
      .option(
        '--gc-grace <seconds>',
        'keep unreachable blobs and emptied packs this long before deleting them; longer than any backup runs (default 86400)',
      )
      .option('--gc-every <seconds>', 'run a scheduled GC of each vault this often (default 86400)')
      .option(
        '--gc-repack-below <percent>',
        'repack packs whose live bytes are below this share (default 50)',
      ),
    'coffer vault serve --data /srv/coffer --listen 0.0.0.0:8443 --smtp smtp://mail.example.com:587',
  ).action(lazy(() => import('../commands/vault-serve.js'), 'vaultServe'));
  example(
    adminOptions(vault.command('create <name>').description('create a vault in your tenant')),
    'coffer vault create my-vault',
  ).action(lazy(() => import('../commands/admin.js'), 'vaultCreate'));
  example(
    adminOptions(vault.command('list').description("list your tenant's vaults")),
    'coffer vault list --json',
  ).action(lazy(() => import('../commands/admin.js'), 'vaultList'));
  example(
    adminOptions(
      vault
        .command('credentials <vault>')
        .description('write a 48-hour file that registers one machine into VAULT (a secret)')
        .requiredOption('--out <file>', 'where to write the credentials file (created 0600)')
        .option(
          '--join-keyring <keyring>',
          'let the machine join this keyring of VAULT without proving it holds the keys (write role)',
        ),
    ),
    'coffer vault credentials my-vault --out my-vault.credentials',
  ).action(lazy(() => import('../commands/admin.js'), 'vaultCredentials'));
  example(
    adminOptions(
      vault.command('agents <vault>').description('list the machines registered in VAULT'),
    ),
    'coffer vault agents my-vault',
  ).action(lazy(() => import('../commands/admin.js'), 'vaultAgents'));
  example(
    adminOptions(vault.command('points <vault>').description('list every recovery point in VAULT')),
    'coffer vault points my-vault --json',
  ).action(lazy(() => import('../commands/admin.js'), 'vaultPoints'));
  example(
    adminOptions(
      vault
        .command('set <vault>')
        .description(
          "change (or, with no option, show) a vault's soft-delete period and immutability",
        )
        .option(
          '--soft-delete-days <n>',
          'days a deleted or expired point stays restorable (0–365)',
        )
        .option('--soft-delete <mode>', 'always-on: soft delete can never be turned off again')
        .option(
          '--immutability <state>',
          'off, unlocked (can be turned off again) or locked (irreversible)',
        ),
    ),
    'coffer vault set my-vault --soft-delete-days 30 --soft-delete always-on --immutability unlocked',
  ).action(lazy(() => import('../commands/vault-set.js'), 'vaultSet'));
  example(
    adminOptions(
      vault
        .command('delete <vault>')
        .description(
          'delete an empty vault (refused while it holds points or registered machines)',
        ),
    ),
    'coffer vault delete old-vault',
  ).action(lazy(() => import('../commands/vault-delete.js'), 'vaultDelete'));
}
