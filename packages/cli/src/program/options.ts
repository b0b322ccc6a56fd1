/**
 * @module program/options
 * Options shared by many commands, and the lazy loader every command's action goes through.
 */
import type { Command } from 'commander';

/** A command's action: commander passes its arguments, then options, then the command. */
export type Action = (...args: never[]) => Promise<number>;

/**
 * Wraps `module[name]` (loaded on first use, so that `coffer backup` does not pay for the
 * vault's modules) as a commander action.
 */
export type Lazy = <M extends Record<K, Action>, K extends keyof M & string>(
  load: () => Promise<M>,
  name: K,
) => (...args: unknown[]) => void;

/** Options of commands run by a tenant user or the service admin. */
export function adminOptions(command: Command): Command {
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

/** Options of commands run on a registered machine. */
export function agentOptions(command: Command, withAgent = false): Command {
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

/** Adds the `Example:` section every command's --help ends with. */
export function example<C extends Command>(command: C, ...lines: string[]): C {
  command.addHelpText('after', `\nExample:\n${lines.map((line) => `  ${line}`).join('\n')}`);
  return command;
}

/** Collects a repeatable option into an array. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];
