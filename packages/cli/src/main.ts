/**
 * @module main
 * The `coffer` command line: parses arguments and runs a command, returning its exit status.
 */
import { Command, CommanderError } from 'commander';
import { EXIT_USAGE, reportError, reportUsageError } from './exit.js';
import { addAdminCommands } from './program/admin.js';
import { addAlertCommands } from './program/alerts.js';
import { addGcCommands } from './program/gc.js';
import { addAuditCommands } from './program/audit.js';
import { addDataCommands } from './program/data.js';
import { example, type Action, type Lazy } from './program/options.js';
import { addProtectionCommands } from './program/protection.js';
import { addTenancyCommands } from './program/tenancy.js';
import { addVaultCommands } from './program/vault.js';

type Loose = (...args: unknown[]) => Promise<number>;

/** Builds the program; `run` receives each command's exit status. */
export function buildProgram(run: (status: Promise<number>) => void, json = false): Command {
  const program = new Command('coffer')
    .description('Coffer: encrypted, deduplicated backups into a self-hosted vault')
    .version('0.1.0');
  // Set before any command is added: subcommands copy these settings when they are created.
  program.exitOverride();
  if (json) program.configureOutput({ outputError: () => undefined });
  else program.showHelpAfterError('(run with --help for usage)');
  example(
    program,
    'coffer vault serve                                   # start a vault (./coffer-data, 127.0.0.1:8443)',
    'coffer register --credentials my-vault.credentials   # register this machine',
    "coffer backup ~/Documents --exclude '*.tmp'          # back up a folder",
    'coffer restore latest --target /tmp/restored         # restore it elsewhere',
  );
  // Commands load on demand, so that `coffer backup` does not pay for the vault's modules.
  const lazy: Lazy =
    <M extends Record<K, Action>, K extends keyof M & string>(load: () => Promise<M>, name: K) =>
    (...args: unknown[]): void => {
      run(load().then((module) => (module[name] as unknown as Loose)(...args)));
    };

  addVaultCommands(program, lazy);
  addTenancyCommands(program, lazy);
  addDataCommands(program, lazy);
  addAlertCommands(program, lazy);
  addAuditCommands(program, lazy);
  addAdminCommands(program, lazy);
  addProtectionCommands(program, lazy);
  addGcCommands(program, lazy);
  return program;
}

/** Runs the command line and resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  // Errors are JSON when the command line asks for JSON, however far parsing got.
  const json = argv.slice(2).includes('--json');
  let pending: Promise<number> | undefined;
  const program = buildProgram((status) => {
    pending = status;
  }, json);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0;
      return reportUsageError(error, json);
    }
    return reportError(error, json);
  }
  if (!pending) return EXIT_USAGE;
  try {
    return await pending;
  } catch (error) {
    return reportError(error, json);
  }
}
