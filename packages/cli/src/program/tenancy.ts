/**
 * @module program/tenancy
 * `coffer tenant|token|agent ...`: tenants, user tokens and machines, for the admin and tenant users.
 */
import { Option, type Command } from 'commander';
import { adminOptions, type Lazy } from './options.js';

/** Adds `coffer tenant`, `coffer token` and `coffer agent`. */
export function addTenancyCommands(program: Command, lazy: Lazy): void {
  const tenant = program.command('tenant').description('manage tenants (service admin)');
  adminOptions(
    tenant
      .command('create <name>')
      .description("create a tenant and print its owner's token")
      .addHelpText(
        'after',
        '\nExample:\n  COFFER_TOKEN=$(cat coffer-data/admin.token) coffer tenant create acme',
      ),
  ).action(lazy(() => import('../commands/admin.js'), 'tenantCreate'));

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
  ).action(lazy(() => import('../commands/admin.js'), 'tokenCreate'));

  const agent = program.command('agent').description('manage registered machines (tenant user)');
  adminOptions(
    agent
      .command('grant <agent>')
      .description("let another machine restore AGENT's points (recover to another server)")
      .requiredOption('--to <agent>', 'the machine that may read')
      .requiredOption('--vault <vault>', 'the vault both machines are in'),
  ).action(lazy(() => import('../commands/admin.js'), 'agentGrant'));
  adminOptions(
    agent
      .command('keyring <agent>')
      .description("write AGENT's keyring (wrapped keys only), for 'coffer register --keyring'")
      .requiredOption('--out <file>', 'where to write the keyring JSON')
      .addHelpText(
        'after',
        '\nExample:\n  coffer agent keyring ag_0123456789abcdef --out first.keyring.json',
      ),
  ).action(lazy(() => import('../commands/agent-keyring.js'), 'agentKeyring'));
}
