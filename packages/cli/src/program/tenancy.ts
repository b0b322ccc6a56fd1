/**
 * @module program/tenancy
 * `coffer tenant|token|agent ...`: tenants, user tokens and machines, for the admin and tenant users.
 */
import { Option, type Command } from 'commander';
import { adminOptions, example, type Lazy } from './options.js';

/** Adds `coffer tenant`, `coffer token` and `coffer agent`. */
export function addTenancyCommands(program: Command, lazy: Lazy): void {
  const tenant = example(
    program.command('tenant').description('manage tenants (service admin)'),
    'coffer tenant list',
  );
  example(
    adminOptions(
      tenant.command('create <name>').description("create a tenant and print its owner's token"),
    ),
    'COFFER_TOKEN=$(cat coffer-data/admin.token) coffer tenant create acme',
  ).action(lazy(() => import('../commands/admin.js'), 'tenantCreate'));
  example(
    adminOptions(tenant.command('list').description('list every tenant')),
    'COFFER_TOKEN=$(cat coffer-data/admin.token) coffer tenant list',
  ).action(lazy(() => import('../commands/tenant-list.js'), 'tenantList'));

  const token = example(
    program.command('token').description("manage your tenant's user tokens (owner)"),
    'coffer token list',
  );
  example(
    adminOptions(
      token
        .command('create <name>')
        .description('create a user token with a role (names are unique in the tenant)')
        .addOption(
          new Option('--role <role>', 'owner, contributor, operator or reader')
            .choices(['owner', 'contributor', 'operator', 'reader'])
            .makeOptionMandatory(),
        )
        .option('--expires <duration>', 'stop working after this long: 90m, 12h, 30d, 52w'),
    ),
    'coffer token create ci-backups --role operator --expires 30d',
  ).action(lazy(() => import('../commands/token-create.js'), 'tokenCreate'));
  example(
    adminOptions(token.command('list').description("list the tenant's user tokens (no secrets)")),
    'coffer token list',
  ).action(lazy(() => import('../commands/token-list.js'), 'tokenList'));
  example(
    adminOptions(
      token.command('revoke <token>').description('revoke a token (name or id); it stops at once'),
    ),
    'coffer token revoke ci-backups',
  ).action(lazy(() => import('../commands/token-revoke.js'), 'tokenRevoke'));

  const agent = example(
    program.command('agent').description('manage registered machines (tenant user)'),
    'coffer agent remove ag_5f0c1d2e3f405162',
  );
  example(
    adminOptions(
      agent
        .command('grant <agent>')
        .description("let another machine restore AGENT's points (recover to another server)")
        .requiredOption('--to <agent>', 'the machine that may read')
        .requiredOption('--vault <vault>', 'the vault both machines are in'),
    ),
    'coffer agent grant ag_5f0c1d2e3f405162 --to ag_0a1b2c3d4e5f6071 --vault my-vault',
  ).action(lazy(() => import('../commands/admin.js'), 'agentGrant'));
  example(
    adminOptions(
      agent
        .command('keyring <agent>')
        .description("write AGENT's keyring (wrapped keys only), for 'coffer register --keyring'")
        .requiredOption('--out <file>', 'where to write the keyring JSON'),
    ),
    'coffer agent keyring ag_0123456789abcdef --out first.keyring.json',
  ).action(lazy(() => import('../commands/agent-keyring.js'), 'agentKeyring'));
  example(
    adminOptions(
      agent
        .command('revoke-grant <agent>')
        .description("take back a machine's permission to read AGENT's points")
        .requiredOption('--from <agent>', 'the machine that may no longer read'),
    ),
    'coffer agent revoke-grant ag_5f0c1d2e3f405162 --from ag_0a1b2c3d4e5f6071',
  ).action(lazy(() => import('../commands/agent-revoke-grant.js'), 'agentRevokeGrant'));
  example(
    adminOptions(
      agent
        .command('remove <agent>')
        .description('remove a machine: its token stops working at once, its points stay'),
    ),
    'coffer agent remove ag_5f0c1d2e3f405162',
  ).action(lazy(() => import('../commands/agent-remove.js'), 'agentRemove'));
}
