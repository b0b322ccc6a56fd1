/**
 * @module program/protection
 * `coffer policy|protect|items|item|backup-now|restore-request|jobs|job` and `coffer agent
 * run|install-service|unlock|lock`: managed protection, where the vault owns the schedule and
 * the agent daemon runs what it asks for.
 */
import { Option, type Command } from 'commander';
import { adminOptions, collect, type Lazy } from './options.js';

/** Options of commands a tenant user runs, or the machine's agent without a token. */
function scopeOptions(command: Command): Command {
  return adminOptions(command)
    .option('--vault <vault>', 'the vault (name or id); needed when the tenant has several')
    .option(
      '--config <dir>',
      "without a token: act as this machine's agent (default: $COFFER_CONFIG or ~/.config/coffer)",
    );
}

function example(command: Command, text: string): Command {
  return command.addHelpText('after', `\nExample:\n  ${text}`);
}

function policyFlags(command: Command, create: boolean): Command {
  return command
    .option('--times <list>', `times of day, HH:MM or HH:MM:SS${create ? ' (default 02:00)' : ''}`)
    .option(
      '--days <list>',
      `weekdays (mon,wed,fri or mon-fri)${create ? '; default every day' : ', or all'}`,
    )
    .option('--tz <zone>', `IANA time zone${create ? " (default: this machine's)" : ''}`)
    .option('--keep-last <n>', 'keep the N newest points (1–9999)')
    .option('--daily <n>', 'keep daily points for N days (7–9999)')
    .option('--weekly <n>', 'keep weekly points for N weeks (4–5163)')
    .option('--weekday <day>', 'the weekday of weekly points (default sun)')
    .option('--monthly <n>', 'keep monthly points for N months (3–1188)')
    .option(
      '--day <day>',
      'the day of monthly and yearly points: 1–28, last, first-mon… (default 1)',
    )
    .option('--yearly <n>', 'keep yearly points for N years (1–99)')
    .option('--month <month>', 'the month of yearly points (default jan)');
}

/**
 * Makes `command` and its subcommands throw on usage errors instead of exiting, so that main
 * exits 2 for them (commander copies the program's setting only into commands made after it).
 */
function usageErrorsExit2(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) usageErrorsExit2(sub);
}

/** Adds the protection commands. */
export function addProtectionCommands(program: Command, lazy: Lazy): void {
  const before = new Set(program.commands);
  const policy = example(
    program.command('policy').description('manage backup policies: schedule and retention'),
    'coffer policy create nightly --times 02:00 --daily 30 && coffer policy list',
  );
  example(
    scopeOptions(policyFlags(policy.command('create <name>').description('create a policy'), true)),
    'coffer policy create nightly --times 02:00 --days mon-fri --tz Europe/Paris --daily 30 --weekly 8',
  ).action(lazy(() => import('../commands/policy-create.js'), 'policyCreate'));
  example(
    scopeOptions(
      policyFlags(
        policy
          .command('set <policy>')
          .description(
            "change a policy's schedule or retention (0 removes a rule); its items follow",
          ),
        false,
      ),
    ),
    'coffer policy set nightly --times 01:30 --monthly 12 --weekly 0',
  ).action(lazy(() => import('../commands/policy-create.js'), 'policySet'));
  example(
    scopeOptions(policy.command('list').description("list the vault's policies")),
    'coffer policy list --vault my-vault',
  ).action(lazy(() => import('../commands/policy-list.js'), 'policyList'));
  example(
    scopeOptions(policy.command('show <policy>').description('show a policy')),
    'coffer policy show nightly',
  ).action(lazy(() => import('../commands/policy-list.js'), 'policyShow'));
  example(
    scopeOptions(
      policy
        .command('preview <policy>')
        .description('show which points the policy keeps after DAYS days of its backups, and why')
        .option('--days <n>', 'days of backups to simulate (default 365)'),
    ),
    'coffer policy preview nightly --days 365',
  ).action(lazy(() => import('../commands/policy-preview.js'), 'policyPreview'));
  example(
    scopeOptions(
      policy.command('delete <policy>').description('delete a policy that no item uses'),
    ),
    'coffer policy delete nightly',
  ).action(lazy(() => import('../commands/policy-delete.js'), 'policyDelete'));

  const protect = example(
    program
      .command('protect <path...>')
      .description(
        "protect paths of this machine as an item; the vault schedules its backups by the item's policy",
      )
      .option('--item <name>', 'the item name (required)')
      .option('--policy <policy>', 'the policy (name or id) that schedules it')
      .option('--exclude <glob>', 'skip matching names (or paths, with /); repeatable', collect, [])
      .option(
        '--config <dir>',
        "this machine's registration (default: $COFFER_CONFIG or ~/.config/coffer)",
      )
      .option(
        '--passphrase-file <file>',
        'read the passphrase from FILE (default: stored keys, $COFFER_PASSPHRASE or a prompt)',
      )
      .option('--json', 'print JSON'),
    "coffer protect /home /etc --item system --policy nightly --exclude '*.cache'",
  ).action(lazy(() => import('../commands/item-protect.js'), 'protect'));
  // `coffer protect stop ITEM`: commander takes a first word naming a subcommand as that
  // subcommand, so a path named "stop" is protected as ./stop.
  example(
    scopeOptions(
      protect
        .command('stop <item>')
        .description(
          'stop protecting an item: no more scheduled backups; its points are kept unless --delete-data',
        )
        .option(
          '--delete-data',
          'also delete all its recovery points (restorable for the soft-delete period)',
        )
        .option('--agent <agent>', 'the machine, when several have an item of that name'),
    ),
    'coffer protect stop old-laptop-home --delete-data',
  ).action(lazy(() => import('../commands/protect-stop.js'), 'protectStop'));

  const point = example(
    program.command('point').description('delete or undelete a recovery point'),
    'coffer point delete 3f9a0c1b2d4e && coffer point undelete 3f9a0c1b2d4e',
  );
  example(
    scopeOptions(
      point
        .command('delete <point>')
        .description(
          'delete a recovery point (id or 8+ digit prefix): hidden, restorable until purged',
        ),
    ),
    'coffer point delete 3f9a0c1b2d4e --vault my-vault',
  ).action(lazy(() => import('../commands/point-delete.js'), 'pointDelete'));
  example(
    scopeOptions(
      point
        .command('undelete <point>')
        .description('bring a deleted recovery point back (before its purge date)'),
    ),
    'coffer point undelete 3f9a0c1b2d4e --vault my-vault',
  ).action(lazy(() => import('../commands/point-delete.js'), 'pointUndelete'));

  example(
    scopeOptions(
      program
        .command('expire [vault]')
        .description(
          "run the vault's expiry now: soft-delete what policies no longer keep, purge what is past its soft-delete period",
        )
        .option('--wait', 'follow the job and exit with its outcome'),
    ),
    'coffer expire my-vault --wait',
  ).action(lazy(() => import('../commands/expire.js'), 'expire'));

  example(
    scopeOptions(
      program
        .command('items')
        .description('list protected items with their policy, last backup, next run and health')
        .option('--agent <agent>', 'only the items of this machine (id or name)'),
    ),
    'coffer items --vault my-vault',
  ).action(lazy(() => import('../commands/item-list.js'), 'items'));

  const item = example(
    program.command('item').description('change a protected item'),
    'coffer item set documents --policy nightly',
  );
  example(
    scopeOptions(
      item
        .command('set <item>')
        .description('give an item another policy, or none (changing one needs the write role)')
        .option('--policy <policy>', 'the new policy (name or id)')
        .option('--no-policy', 'remove its policy: no more scheduled backups')
        .option('--agent <agent>', 'the machine, when several have an item of that name'),
    ),
    'coffer item set documents --policy hourly',
  ).action(lazy(() => import('../commands/item-set.js'), 'itemSet'));

  example(
    scopeOptions(
      program
        .command('backup-now <item>')
        .description("back an item up now: the vault asks the item's agent daemon to run it")
        .option('--agent <agent>', 'the machine, when several have an item of that name')
        .option('--wait', 'follow the job and exit with its outcome (0, 3 warnings, 1 failed)'),
    ),
    'coffer backup-now documents --wait',
  ).action(lazy(() => import('../commands/backup-now.js'), 'backupNow'));

  example(
    scopeOptions(
      program
        .command('restore-request <point>')
        .description(
          "restore a point on an agent's machine, through its daemon (POINT: id, prefix or latest)",
        )
        .requiredOption('--agent <agent>', 'the machine that restores (id or name)')
        .requiredOption(
          '--target <dir>',
          'an absolute directory on that machine; paths are recreated below it',
        )
        .option('--path <p>', 'restore only this file or folder; repeatable', collect, [])
        .option(
          '--conflict <mode>',
          'when a file exists: overwrite, skip or keep-both',
          'overwrite',
        )
        .option('--item <name>', 'with "latest": the latest point of this item')
        .option('--wait', 'follow the job and exit with its outcome (0, 3 warnings, 1 failed)'),
    ),
    'coffer restore-request latest --agent web-1 --target /srv/restored --path /etc/nginx --wait',
  ).action(lazy(() => import('../commands/restore-request.js'), 'restoreRequest'));

  example(
    scopeOptions(
      program
        .command('jobs')
        .description('list backup and restore jobs, newest first')
        .option('--item <item>', 'only this item (name or id)')
        .option('--agent <agent>', 'only this machine (id or name)')
        .addOption(
          new Option('--state <state>', 'only jobs in this state').choices([
            'queued',
            'running',
            'succeeded',
            'warnings',
            'failed',
            'cancelled',
          ]),
        )
        .option('--since <when>', 'only jobs created since a date or an age (30m, 12h, 7d)')
        .option('--limit <n>', 'at most N jobs (default 100)'),
    ),
    'coffer jobs --state failed --since 7d',
  ).action(lazy(() => import('../commands/job-list.js'), 'jobs'));

  const job = example(
    program.command('job').description('show, follow or cancel a job'),
    'coffer job jb_0123456789abcdef --follow',
  );
  example(
    scopeOptions(
      job
        .command('show <id>', { isDefault: true })
        .description('show a job (coffer job ID is the same)')
        .option(
          '--follow',
          'show live progress until it ends, and exit with its outcome (0, 3, 1)',
        ),
    ),
    'coffer job jb_0123456789abcdef --follow',
  ).action(lazy(() => import('../commands/job-show.js'), 'jobShow'));
  example(
    scopeOptions(
      job
        .command('cancel <id>')
        .description('cancel a job: no point is made, what was uploaded is kept for the next run')
        .option('--follow', 'wait until it has stopped'),
    ),
    'coffer job cancel jb_0123456789abcdef',
  ).action(lazy(() => import('../commands/job-show.js'), 'jobCancel'));

  const agent =
    program.commands.find((c) => c.name() === 'agent') ??
    program.command('agent').description('registered machines and the agent daemon');
  const agentConfig = (command: Command): Command =>
    command.option(
      '--config <dir>',
      "this machine's registration (default: $COFFER_CONFIG or ~/.config/coffer)",
    );
  example(
    agentConfig(
      agent
        .command('run')
        .description(
          'run the agent daemon: scheduled and requested backups and restores (logs JSON lines)',
        )
        .option('--keys <file>', 'the stored keys (default: CONFIG/keys, from coffer agent unlock)')
        .option('--poll <seconds>', 'how long one poll for work waits (1–30, default 20)')
        .option('--jobs <n>', 'jobs run at once, each on a different item (default 2)')
        .option(
          '--max-retry-delay <seconds>',
          'longest wait between reconnection attempts (default 30)',
        ),
    ),
    'coffer agent run --config /etc/coffer',
  ).action(lazy(() => import('../commands/agent-run.js'), 'agentRun'));
  example(
    agentConfig(
      agent
        .command('install-service')
        .description(
          'write a systemd unit that runs the agent daemon from boot (or login, with --user)',
        )
        .option('--user', 'a user unit (systemctl --user) instead of a system one')
        .option('--keys <file>', 'the stored keys (default: CONFIG/keys)')
        .option('--unit-dir <dir>', 'write the unit here instead of systemd’s directory')
        .option('--dry-run', 'print the unit without writing it')
        .option('--json', 'print JSON'),
    ),
    'sudo coffer agent install-service --config /etc/coffer',
  ).action(lazy(() => import('../commands/agent-install-service.js'), 'agentInstallService'));
  example(
    agentConfig(
      agent
        .command('unlock')
        .description(
          "store this machine's opened keys (0600) so the daemon runs without the passphrase",
        )
        .option(
          '--passphrase-file <file>',
          'read the passphrase from FILE (default: $COFFER_PASSPHRASE or a prompt)',
        )
        .option('--json', 'print JSON'),
    ),
    'coffer agent unlock --config /etc/coffer',
  ).action(lazy(() => import('../commands/agent-unlock.js'), 'agentUnlock'));
  example(
    agentConfig(
      agent
        .command('lock')
        .description('delete the stored keys: backups need the passphrase again')
        .option('--json', 'print JSON'),
    ),
    'coffer agent lock',
  ).action(lazy(() => import('../commands/agent-unlock.js'), 'agentLock'));

  for (const command of program.commands) {
    if (!before.has(command)) usageErrorsExit2(command);
  }
  for (const command of agent.commands) usageErrorsExit2(command);
}
