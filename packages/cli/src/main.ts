/**
 * @module main
 * The `coffer` command line: parses arguments and runs a command, returning its exit status.
 */
import { Command, CommanderError, Option } from 'commander';
import { EXIT_USAGE, reportError } from './exit.js';

/** A command's action: commander passes its arguments, then options, then the command. */
type Action = (...args: never[]) => Promise<number>;
type Loose = (...args: unknown[]) => Promise<number>;

function adminOptions(command: Command): Command {
  return command
    .option('--url <url>', 'vault URL (default: $COFFER_URL or https://127.0.0.1:8443)')
    .option('--token <token>', 'tenant user or admin token (default: $COFFER_TOKEN)')
    .option(
      '--fingerprint <sha256>',
      "the vault certificate's fingerprint (default: read from --data)",
    )
    .option('--data <dir>', "the vault's data directory, to pin its certificate", undefined)
    .option('--json', 'print JSON');
}

function agentOptions(command: Command, withAgent = false): Command {
  command
    .option(
      '--config <dir>',
      "this machine's registration (default: $COFFER_CONFIG or ~/.config/coffer)",
    )
    .option(
      '--passphrase-file <file>',
      'read the passphrase from FILE (default: $COFFER_PASSPHRASE or a prompt)',
    )
    .option('--json', 'print JSON');
  if (withAgent)
    command.option(
      '--agent <id>',
      "read another machine's points (needs a grant and its passphrase)",
    );
  return command;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Builds the program; `run` receives each command's exit status. */
export function buildProgram(run: (status: Promise<number>) => void): Command {
  const program = new Command('coffer')
    .description('Coffer: encrypted, deduplicated backups into a self-hosted vault')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  coffer vault serve                                   # start a vault (./coffer-data, 127.0.0.1:8443)
  coffer register --credentials my-vault.credentials   # register this machine
  coffer backup ~/Documents --exclude '*.tmp'          # back up a folder
  coffer restore latest --target /tmp/restored         # restore it elsewhere`,
    );
  // Commands load on demand, so that `coffer backup` does not pay for the vault's modules.
  const lazy =
    <M extends Record<K, Action>, K extends keyof M & string>(load: () => Promise<M>, name: K) =>
    (...args: unknown[]): void => {
      run(load().then((module) => (module[name] as unknown as Loose)(...args)));
    };

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
    .addHelpText(
      'after',
      '\nExample:\n  coffer vault serve --data /srv/coffer --listen 0.0.0.0:8443',
    )
    .action(lazy(() => import('./commands/vault-serve.js'), 'vaultServe'));
  adminOptions(vault.command('create <name>').description('create a vault in your tenant')).action(
    lazy(() => import('./commands/admin.js'), 'vaultCreate'),
  );
  adminOptions(vault.command('list').description("list your tenant's vaults")).action(
    lazy(() => import('./commands/admin.js'), 'vaultList'),
  );
  adminOptions(
    vault
      .command('credentials <vault>')
      .description('write a 48-hour file that registers one machine into VAULT')
      .requiredOption('--out <file>', 'where to write the credentials file'),
  ).action(lazy(() => import('./commands/admin.js'), 'vaultCredentials'));
  adminOptions(
    vault.command('agents <vault>').description('list the machines registered in VAULT'),
  ).action(lazy(() => import('./commands/admin.js'), 'vaultAgents'));
  adminOptions(
    vault.command('points <vault>').description('list every recovery point in VAULT'),
  ).action(lazy(() => import('./commands/admin.js'), 'vaultPoints'));

  const tenant = program.command('tenant').description('manage tenants (service admin)');
  adminOptions(
    tenant
      .command('create <name>')
      .description("create a tenant and print its owner's token")
      .addHelpText(
        'after',
        '\nExample:\n  COFFER_TOKEN=$(cat coffer-data/admin.token) coffer tenant create acme',
      ),
  ).action(lazy(() => import('./commands/admin.js'), 'tenantCreate'));

  const token = program.command('token').description("manage your tenant's user tokens (owner)");
  adminOptions(
    token
      .command('create <name>')
      .description('create a user token with a role')
      .addOption(
        new Option('--role <role>', 'owner, contributor, operator or reader')
          .choices(['owner', 'contributor', 'operator', 'reader'])
          .makeOptionMandatory(),
      ),
  ).action(lazy(() => import('./commands/admin.js'), 'tokenCreate'));

  const agent = program.command('agent').description('manage registered machines (tenant user)');
  adminOptions(
    agent
      .command('grant <agent>')
      .description("let another machine restore AGENT's points (recover to another server)")
      .requiredOption('--to <agent>', 'the machine that may read')
      .requiredOption('--vault <vault>', 'the vault both machines are in'),
  ).action(lazy(() => import('./commands/admin.js'), 'agentGrant'));

  agentOptions(
    program
      .command('register')
      .description('register this machine into a vault')
      .requiredOption('--credentials <file>', 'the file from "coffer vault credentials"')
      .option('--name <machine>', 'the name shown in the vault (default: the host name)'),
  ).action(lazy(() => import('./commands/register.js'), 'register'));

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
  ).action(lazy(() => import('./commands/backup.js'), 'backup'));

  agentOptions(
    program
      .command('points')
      .description('list recovery points')
      .option('--item <name>', 'only this item'),
    true,
  ).action(lazy(() => import('./commands/points.js'), 'points'));

  agentOptions(
    program
      .command('ls <point> [path]')
      .option('--item <name>', 'only points of this item (and "latest" among them)')
      .description('list a directory of a recovery point (POINT: id, prefix or latest)'),
    true,
  ).action(lazy(() => import('./commands/ls.js'), 'ls'));

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
  ).action(lazy(() => import('./commands/restore.js'), 'restore'));

  agentOptions(
    program
      .command('verify [point]')
      .option('--item <name>', 'only points of this item (and "latest" among them)')
      .description(
        'check recovery points (all, or POINT); --read-data downloads and checks every blob',
      )
      .option('--read-data', 'download and open every blob'),
    true,
  ).action(lazy(() => import('./commands/verify.js'), 'verify'));

  program.exitOverride();
  return program;
}

/** Runs the command line and resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  let pending: Promise<number> | undefined;
  const program = buildProgram((status) => {
    pending = status;
  });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    return reportError(error);
  }
  if (!pending) return 0;
  try {
    return await pending;
  } catch (error) {
    return reportError(error);
  }
}
