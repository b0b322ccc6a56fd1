/**
 * @module program/alerts
 * `coffer alerts`, `coffer alert ack` and `coffer notify`: what went wrong, and who hears of it.
 */
import { Option, type Command } from 'commander';
import { adminOptions, type Lazy } from './options.js';

/** Adds `coffer alerts`, `coffer alert ack` and `coffer notify set|show|test`. */
export function addAlertCommands(program: Command, lazy: Lazy): void {
  adminOptions(
    program
      .command('alerts')
      .description("list your tenant's alerts, newest first, with the state of their notifications")
      .addOption(
        new Option('--state <state>', 'only alerts in this state').choices([
          'open',
          'acknowledged',
          'resolved',
        ]),
      )
      .option('--vault <vault>', 'only alerts of this vault (name or id)')
      .option('--limit <n>', 'at most N alerts (default 100)')
      .addHelpText('after', '\nExample:\n  coffer alerts --state open'),
  ).action(lazy(() => import('../commands/alerts-list.js'), 'alertsList'));

  const alert = program
    .command('alert')
    .description('act on one alert')
    .addHelpText('after', '\nExample:\n  coffer alert ack al_5f0c2b9e1d3a4c6b');
  adminOptions(
    alert
      .command('ack <id>')
      .description('acknowledge an open alert (operator or above); it stays until resolved')
      .addHelpText('after', '\nExample:\n  coffer alert ack al_5f0c2b9e1d3a4c6b'),
  ).action(lazy(() => import('../commands/alert-ack.js'), 'alertAck'));

  const notify = program
    .command('notify')
    .description("where a vault's alerts are sent")
    .addHelpText(
      'after',
      '\nExample:\n  coffer notify set my-vault --email ops@example.com\n  coffer notify test my-vault',
    );
  adminOptions(
    notify
      .command('set <vault>')
      .description("send the vault's alerts to a signed webhook and/or e-mail recipients")
      .option('--webhook <url>', 'POST each alert as JSON to this http(s) URL')
      .option('--no-webhook', 'stop sending to the webhook')
      .option(
        '--secret <secret>',
        'the webhook signing secret, 16+ characters (default: a new random one, printed once)',
      )
      .option('--email <address...>', 'send each alert to these addresses (replaces the list)')
      .option('--no-email', 'stop sending e-mails')
      .addHelpText(
        'after',
        '\nExample:\n  coffer notify set my-vault --webhook https://hooks.example.com/coffer --email ops@example.com oncall@example.com',
      ),
  ).action(lazy(() => import('../commands/notify-set.js'), 'notifySet'));
  adminOptions(
    notify
      .command('show <vault>')
      .description("show the vault's notification targets (never the webhook secret)")
      .addHelpText('after', '\nExample:\n  coffer notify show my-vault'),
  ).action(lazy(() => import('../commands/notify-show.js'), 'notifyShow'));
  adminOptions(
    notify
      .command('test <vault>')
      .description('send a test notification to each target now and report each result')
      .addHelpText('after', '\nExample:\n  coffer notify test my-vault'),
  ).action(lazy(() => import('../commands/notify-test.js'), 'notifyTest'));
}
