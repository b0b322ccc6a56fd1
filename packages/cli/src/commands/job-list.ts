/**
 * @module commands/job-list
 * `coffer jobs`: backups and restores (and later the vault's own jobs), newest first.
 */
import type { Job, JobQuery, JobState } from '@coffer/api';
import { CofferError } from '@coffer/core';
import { formatBytes, printJson, printLines } from '../output.js';
import { findAgent, findItem, withScope, type ScopeOptions } from '../scope.js';

export interface JobsOptions extends ScopeOptions {
  item?: string;
  agent?: string;
  state?: string;
  since?: string;
  limit?: string;
  json?: boolean;
}

const STATES = ['queued', 'running', 'succeeded', 'warnings', 'failed', 'cancelled'];
const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: an ISO date or time, or an age such as 30m, 12h or 7d. */
export function parseSince(text: string, now = Date.now()): string {
  const age = /^(\d{1,6})([mhd])$/.exec(text.trim());
  if (age) return new Date(now - Number(age[1]) * UNITS[age[2]!]!).toISOString();
  const at = Date.parse(text);
  if (Number.isNaN(at)) {
    throw new CofferError(
      'USAGE',
      `--since ${text}: give a date (2026-03-01, 2026-03-01T12:00Z) or an age (30m, 12h, 7d)`,
    );
  }
  return new Date(at).toISOString();
}

function row(job: Job): string {
  const total =
    job.progress.bytesTotal === undefined ? '' : ` / ${formatBytes(job.progress.bytesTotal)}`;
  return [
    job.id.padEnd(19),
    job.kind.padEnd(7),
    job.trigger.padEnd(9),
    job.state.padEnd(9),
    (job.item ?? '-').padEnd(14),
    job.createdAt
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z')
      .padEnd(20),
    `${formatBytes(job.progress.bytesDone)}${total}`,
  ].join(' ');
}

/** Lists jobs. */
export async function jobs(options: JobsOptions): Promise<number> {
  if (options.state !== undefined && !STATES.includes(options.state)) {
    throw new CofferError('USAGE', `--state ${options.state}: use one of ${STATES.join(', ')}`);
  }
  if (options.limit !== undefined && !/^\d{1,4}$/.test(options.limit)) {
    throw new CofferError('USAGE', `--limit ${options.limit}: give a number from 1 to 1000`);
  }
  const since = options.since === undefined ? undefined : parseSince(options.since);
  return withScope(options, async (scope) => {
    const query: JobQuery = {};
    if (options.item !== undefined)
      query.item = (await findItem(scope, options.item, options.agent)).id;
    if (options.agent !== undefined && scope.as === 'user')
      query.agent = await findAgent(scope, options.agent);
    if (options.state !== undefined) query.state = options.state as JobState;
    if (since !== undefined) query.since = since;
    if (options.limit !== undefined) query.limit = options.limit;
    const result =
      scope.as === 'agent'
        ? await scope.client.agentJobs(scope.self!, query)
        : await scope.client.vaultJobs(scope.vaultId, query);
    if (options.json) printJson(result);
    else if (result.jobs.length === 0) printLines('No jobs.');
    else
      printLines(
        `${'JOB'.padEnd(19)} ${'KIND'.padEnd(7)} ${'TRIGGER'.padEnd(9)} ${'STATE'.padEnd(9)} ${'ITEM'.padEnd(14)} ${'CREATED'.padEnd(20)} DATA`,
        ...result.jobs.map(row),
      );
    return 0;
  });
}
