/**
 * @module commands/audit-list
 * `coffer audit [--since T]`: prints the audit log page by page (bounded memory, also --json).
 */
import type { AuditEntry } from '@coffer/api';
import { CofferError } from '@coffer/core';
import type { AdminOptions } from '../connect.js';
import { printLines } from '../output.js';
import { withClient, type JsonOption } from './admin.js';

const AGE = /^(\d{1,6})(m|h|d|w)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** `--since`: an ISO date or time, or an age such as 30m, 24h, 7d, 2w; returns ISO 8601. */
export function parseSince(text: string, now = Date.now()): string {
  const age = AGE.exec(text);
  if (age)
    return new Date(now - Number(age[1]) * UNIT_MS[age[2] as keyof typeof UNIT_MS]).toISOString();
  const time = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(time)) {
    throw new CofferError(
      'USAGE',
      `--since ${text}: expected a time (2025-01-31, 2025-01-31T12:00:00Z) or an age (30m, 24h, 7d)`,
    );
  }
  return new Date(time).toISOString();
}

/** One line per entry: when, seq, action, outcome, who, what, from where. */
function formatEntry(e: AuditEntry): string {
  const outcome = e.error ? `${e.status} ${e.error}` : String(e.status);
  const who =
    e.actor.kind === 'anonymous'
      ? 'anonymous'
      : `${e.actor.kind} ${e.actor.name ? `"${e.actor.name}" ` : ''}(${e.actor.agentId ?? e.actor.tokenId ?? '?'})`;
  const on = Object.entries(e.resource).map(([k, v]) => `${k}=${v}`);
  return [
    e.at,
    `#${e.seq}`,
    e.action,
    outcome,
    who,
    `${e.method} ${e.route}`,
    ...on,
    `from ${e.address}`,
  ].join('  ');
}

export interface AuditListOptions extends AdminOptions, JsonOption {
  since?: string;
  tenant?: string;
}

/** `coffer audit [list] [--since T] [--tenant ID] [--json]`. */
export function auditList(options: AuditListOptions): Promise<number> {
  const since = options.since === undefined ? undefined : parseSince(options.since);
  return withClient(options, async (client) => {
    let after: number | undefined;
    let printed = 0;
    for (;;) {
      const page = await client.auditLog({ since, after, tenant: options.tenant, limit: 1000 });
      if (options.json) {
        // Written as it arrives, so a long log never sits in memory whole.
        if (after === undefined)
          process.stdout.write(`{\n  "chain": ${JSON.stringify(page.chain)},\n  "entries": [`);
        for (const entry of page.entries) {
          process.stdout.write(`${printed++ === 0 ? '' : ','}\n    ${JSON.stringify(entry)}`);
        }
      } else {
        if (page.entries.length > 0) printLines(...page.entries.map(formatEntry));
        printed += page.entries.length;
      }
      if (page.next === undefined) break;
      after = page.next;
    }
    if (options.json) process.stdout.write(`${printed === 0 ? '' : '\n  '}]\n}\n`);
    else if (printed === 0) printLines(`No audit entries${since ? ` since ${since}` : ''}.`);
    return 0;
  });
}
