/**
 * @module commands/job-show
 * `coffer job ID [--follow]` and `coffer job cancel ID`.
 */
import type { Job } from '@coffer/api';
import { formatBytes, printJson, printLines } from '../output.js';
import { withScope, type ScopeOptions } from '../scope.js';
import { followJob, jobFinished, jobSummary } from './job-follow.js';

export interface JobOptions extends ScopeOptions {
  follow?: boolean;
  json?: boolean;
}

function details(job: Job): string[] {
  const p = job.progress;
  return [
    `Job ${job.id}: ${job.kind} (${job.trigger}) ${job.state}${job.cancelRequested && !jobFinished(job) ? ', cancel asked for' : ''}`,
    ...(job.item ? [`  item ${job.item} (${job.itemId})`] : []),
    ...(job.agentId ? [`  agent ${job.agentId}`] : []),
    ...(job.restore
      ? [
          `  restore of ${job.restore.point.slice(0, 12)} to ${job.restore.target} (${job.restore.conflict})${job.restore.paths?.length ? `: ${job.restore.paths.join(', ')}` : ''}`,
        ]
      : []),
    `  created ${job.createdAt}${job.slotAt ? ` for the ${job.slotAt} slot` : ''}${job.startedAt ? `, started ${job.startedAt}` : ''}${job.endedAt ? `, ended ${job.endedAt}` : ''}`,
    `  ${p.filesDone}${p.filesTotal === undefined ? '' : `/${p.filesTotal}`} files, ${formatBytes(p.bytesDone)}${p.bytesTotal === undefined ? '' : ` / ${formatBytes(p.bytesTotal)}`}, ${formatBytes(p.rate)}/s`,
  ];
}

/** Shows a job, or follows it to its end. */
export async function jobShow(id: string, options: JobOptions): Promise<number> {
  return withScope(options, async (scope) => {
    if (options.follow) return followJob(scope.client, id, options.json);
    const job = await scope.client.job(id);
    if (options.json) printJson(job);
    else printLines(...details(job), ...(jobFinished(job) ? [jobSummary(job)] : []));
    return 0;
  });
}

/** Cancels a job: at once when queued; a running one stops at its agent's next report. */
export async function jobCancel(id: string, options: JobOptions): Promise<number> {
  return withScope(options, async (scope) => {
    const job = await scope.client.cancelJob(id);
    if (options.follow) return followJob(scope.client, id, options.json);
    if (options.json) printJson(job);
    else
      printLines(
        job.state === 'cancelled'
          ? `Cancelled job ${job.id}.`
          : `Asked agent ${job.agentId} to stop job ${job.id}; it ends cancelled within seconds (follow: npx coffer job ${job.id} --follow).`,
      );
    return 0;
  });
}
