/**
 * @module commands/gc
 * `coffer gc VAULT`: asks the vault to collect garbage and repack now. The vault runs it as a
 * job, with no key and no agent; with --wait, waits for it and prints what it reclaimed.
 */
import type { GcJobResult, Job } from '@coffer/api';
import type { VaultClient } from '@coffer/agent';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminClient, type AdminOptions } from '../connect.js';
import { count, formatBytes, printJson, printLines } from '../output.js';
import { findVault } from './admin.js';
import { jobExitStatus, jobFinished, jobSummary } from './job-follow.js';

export interface GcOptions extends AdminOptions {
  wait?: boolean;
  json?: boolean;
}

/** How often a waited-for GC job is read again. */
const POLL_MS = 500;

/** One line about what a finished GC did. */
export function gcSummary(result: GcJobResult): string {
  return (
    `Stored ${formatBytes(result.bytesBefore)} in ${count(result.packsBefore, 'pack')} before, ` +
    `${formatBytes(result.bytesAfter)} in ${count(result.packsAfter, 'pack')} after; ` +
    `${count(result.blobsLive, 'blob')} live, ${result.blobsCondemned} newly unreachable, ` +
    `${result.blobsSwept} swept (${formatBytes(result.bytesSwept)}), ` +
    `${count(result.packsRepacked, 'pack')} repacked into ${result.packsWritten}, ` +
    `${result.packsDeleted} deleted.`
  );
}

async function waitFor(client: VaultClient, jobId: string): Promise<Job> {
  let job = await client.job(jobId);
  while (!jobFinished(job)) {
    await sleep(POLL_MS);
    job = await client.job(jobId);
  }
  return job;
}

/** Queues a GC of vault `spec` (name or id); with --wait, follows it to its end. */
export async function gc(spec: string, options: GcOptions): Promise<number> {
  const client = await adminClient(options);
  try {
    const vault = await findVault(client, spec);
    const { job, alreadyRunning } = await client.runGc(vault.id);
    if (!options.wait) {
      if (options.json) printJson({ job, alreadyRunning });
      else {
        printLines(
          alreadyRunning
            ? `A GC of vault ${vault.name} is ${job.state} already (job ${job.id}).`
            : `Queued GC job ${job.id} of vault ${vault.name}.`,
          `Follow it with: npx coffer job ${job.id} --follow`,
        );
      }
      return 0;
    }
    const done = await waitFor(client, job.id);
    if (options.json) printJson(done);
    else {
      printLines(jobSummary(done));
      if (done.result) printLines(gcSummary(done.result as unknown as GcJobResult));
    }
    return jobExitStatus(done);
  } finally {
    await client.close();
  }
}
