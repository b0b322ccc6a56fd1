/**
 * @module program/vault
 * `coffer vault ...`: run a vault and manage vaults.
 */
import type { Command } from 'commander';
import { adminOptions, type Lazy } from './options.js';

/** Adds `coffer vault` and its subcommands. */
export function addVaultCommands(program: Command, lazy: Lazy): void {
  const vault = program.command('vault').description('run and manage vaults');
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
    .option('--mail-from <address>', 'the From address of alert e-mails (default coffer@HOSTNAME)')
    .option(
      '--job-timeout <seconds>',
      'fail a running job whose agent sent no progress for this long (default 180)',
    )
    .addHelpText(
      'after',
      '\nExample:\n  coffer vault serve --data /srv/coffer --listen 0.0.0.0:8443 --smtp smtp://mail.example.com:587',
    )
    .action(lazy(() => import('../commands/vault-serve.js'), 'vaultServe'));
  adminOptions(vault.command('create <name>').description('create a vault in your tenant')).action(
    lazy(() => import('../commands/admin.js'), 'vaultCreate'),
  );
  adminOptions(vault.command('list').description("list your tenant's vaults")).action(
    lazy(() => import('../commands/admin.js'), 'vaultList'),
  );
  adminOptions(
    vault
      .command('credentials <vault>')
      .description('write a 48-hour file that registers one machine into VAULT')
      .requiredOption('--out <file>', 'where to write the credentials file')
      .option(
        '--join-keyring <keyring>',
        'let the machine join this keyring of VAULT without proving it holds the keys (write role)',
      )
      .addHelpText(
        'after',
        '\nExample:\n  coffer vault credentials my-vault --out my-vault.credentials',
      ),
  ).action(lazy(() => import('../commands/admin.js'), 'vaultCredentials'));
  adminOptions(
    vault.command('agents <vault>').description('list the machines registered in VAULT'),
  ).action(lazy(() => import('../commands/admin.js'), 'vaultAgents'));
  adminOptions(
    vault.command('points <vault>').description('list every recovery point in VAULT'),
  ).action(lazy(() => import('../commands/admin.js'), 'vaultPoints'));
}
