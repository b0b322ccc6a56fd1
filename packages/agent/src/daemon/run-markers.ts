/**
 * @module daemon/run-markers
 * Which backup job each process of this machine is running, one small file per item in the
 * config directory. The vault allows one backup of an item at a time, and only learns that a
 * process died when its job times out; a marker whose process is gone lets the next backup of the
 * item (or the restarted daemon) end that job at once instead of waiting for the timeout.
 */
import type { Job } from '@coffer/api';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { VaultError, type VaultClient } from '../client/vault-client.js';
import { writeFileAtomic } from '../config/agent-state.js';

/** A marker: process `pid` runs job `job`, a backup of item `item`. */
export interface RunMarker {
  job: string;
  item: string;
  pid: number;
}

/** True when no process `pid` exists (one of another user counts as alive). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** The backup markers of one registration. */
export class RunMarkers {
  private readonly dir: string;

  constructor(configDir: string) {
    this.dir = join(configDir, 'running');
  }

  private path(item: string): string {
    return join(this.dir, `${createHash('sha256').update(item).digest('hex').slice(0, 32)}.json`);
  }

  /** Records that this process runs backup job `job` of `item`; returns how to clear it. */
  async mark(item: string, job: string): Promise<() => Promise<void>> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = this.path(item);
    const marker: RunMarker = { job, item, pid: process.pid };
    await writeFileAtomic(path, JSON.stringify(marker));
    return async () => {
      // Only our own: another process may have replaced a marker it found stale.
      const now = await this.read(path);
      if (now?.job === job) await rm(path, { force: true });
    };
  }

  private async read(path: string): Promise<RunMarker | undefined> {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as RunMarker;
    } catch {
      return undefined;
    }
  }

  /** The marker of `item` if the process that wrote it is gone. */
  async stale(item: string): Promise<RunMarker | undefined> {
    const marker = await this.read(this.path(item));
    return marker && gone(marker.pid) ? marker : undefined;
  }

  /** Every marker whose process is gone. */
  async allStale(): Promise<RunMarker[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const out: RunMarker[] = [];
    for (const name of names) {
      const marker = await this.read(join(this.dir, name));
      if (marker && gone(marker.pid)) out.push(marker);
    }
    return out;
  }

  /** Removes the marker of `item` if it still names `job`. */
  async clear(marker: RunMarker): Promise<void> {
    const path = this.path(marker.item);
    if ((await this.read(path))?.job === marker.job) await rm(path, { force: true });
  }
}

/** Ends the job of a process that is gone (the vault would otherwise wait for its timeout). */
export async function endStaleRun(
  client: Pick<VaultClient, 'finishJob'>,
  markers: RunMarkers,
  marker: RunMarker,
): Promise<void> {
  try {
    await client.finishJob(marker.job, {
      state: 'failed',
      error: `the process running it on this machine (pid ${marker.pid}) stopped: killed or crashed; no recovery point was made`,
    });
  } catch (error) {
    // Ended already (timed out, or finished by its process at the last moment): nothing to do.
    if (!(error instanceof VaultError) || (error.status !== 409 && error.status !== 404))
      throw error;
  }
  await markers.clear(marker);
}

/**
 * Starts a manual backup job of `item`. When a backup of the item is running already but the
 * process of this machine that ran it is gone, that job is ended first instead of refusing.
 */
export async function startManualBackup(
  client: Pick<VaultClient, 'startManualJob' | 'finishJob'>,
  agentId: string,
  markers: RunMarkers,
  item: string,
): Promise<Job> {
  try {
    return await client.startManualJob(agentId, { kind: 'backup', item });
  } catch (error) {
    if (!(error instanceof VaultError) || error.code !== 'ALREADY_RUNNING') throw error;
    const stale = await markers.stale(item);
    if (!stale) throw error;
    await endStaleRun(client, markers, stale);
    return client.startManualJob(agentId, { kind: 'backup', item });
  }
}
