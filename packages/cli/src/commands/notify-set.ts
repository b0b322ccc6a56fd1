/**
 * @module commands/notify-set
 * `coffer notify set VAULT`: the webhook and e-mail recipients of a vault's alerts.
 */
import type { NotifySettings, SetNotifyRequest } from '@coffer/api';
import { CofferError } from '@coffer/core';
import { randomBytes } from 'node:crypto';
import type { AdminOptions } from '../connect.js';
import { printJson, printLines } from '../output.js';
import { findVault, withClient, type JsonOption } from './admin.js';

export interface NotifySetOptions extends AdminOptions, JsonOption {
  /** A URL, or false for --no-webhook. */
  webhook?: string | false;
  secret?: string;
  /** Addresses, or false for --no-email. */
  email?: string[] | false;
}

/** The lines that describe a vault's targets (shared by show and set). */
export function describeTargets(name: string, settings: NotifySettings): string[] {
  const lines = [`Vault ${name} sends its alerts to:`];
  if (settings.webhook) lines.push(`  webhook ${settings.webhook.url} (signed; secret set)`);
  for (const email of settings.emails) lines.push(`  e-mail ${email}`);
  if (lines.length === 1)
    lines[0] = `Vault ${name} sends its alerts nowhere yet: coffer notify set ${name} --webhook URL | --email ADDRESS`;
  return lines;
}

/** `coffer notify set VAULT [--webhook URL [--secret S] | --no-webhook] [--email A... | --no-email]`. */
export function notifySet(spec: string, options: NotifySetOptions): Promise<number> {
  const change: SetNotifyRequest = {};
  let newSecret: string | undefined;
  if (options.webhook === false) {
    if (options.secret !== undefined)
      throw new CofferError('USAGE', '--secret goes with --webhook URL, not --no-webhook');
    change.webhook = null;
  } else if (options.webhook !== undefined) {
    if (!/^https?:\/\//i.test(options.webhook)) {
      throw new CofferError(
        'USAGE',
        `--webhook ${options.webhook}: expected an http:// or https:// URL`,
      );
    }
    if (options.secret !== undefined && options.secret.length < 16) {
      throw new CofferError(
        'USAGE',
        '--secret: use at least 16 characters (or leave it out for a random one)',
      );
    }
    newSecret = options.secret === undefined ? randomBytes(32).toString('base64url') : undefined;
    change.webhook = { url: options.webhook, secret: options.secret ?? newSecret! };
  } else if (options.secret !== undefined) {
    throw new CofferError('USAGE', '--secret goes with --webhook URL');
  }
  if (options.email !== undefined)
    change.emails = options.email === false ? [] : [...new Set(options.email)];
  if (change.webhook === undefined && change.emails === undefined) {
    throw new CofferError(
      'USAGE',
      'nothing to set: give --webhook URL, --email ADDRESS..., --no-webhook or --no-email',
    );
  }
  return withClient(options, async (client) => {
    const vault = await findVault(client, spec);
    const settings = await client.setNotify(vault.id, change);
    if (options.json) printJson({ notify: settings, ...(newSecret ? { secret: newSecret } : {}) });
    else {
      printLines(...describeTargets(vault.name, settings));
      if (newSecret) {
        printLines(
          'Webhook signing secret (shown once; check X-Coffer-Signature with it, see docs/audit.md):',
          `  ${newSecret}`,
        );
      }
    }
    if (settings.emails.length > 0 && !settings.mail) {
      process.stderr.write(
        'warning: this vault has no SMTP server, so e-mails will fail; start it with coffer vault serve --smtp smtp://HOST:PORT\n',
      );
    }
    return 0;
  });
}
