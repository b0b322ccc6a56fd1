/**
 * @module commands/agent-run
 * `coffer agent run`: the agent daemon, in the foreground (systemd runs it with
 * `coffer agent install-service`). Needs the keys `coffer agent unlock` stored.
 */
import {
  AgentDaemon,
  RunMarkers,
  VaultClient,
  jsonLog,
  loadAgent,
  loadStoredKeys,
  resolveConfigDir,
  storedKeysPath,
} from '@coffer/agent';
import { CofferError } from '@coffer/core';
import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import { PROGRAM } from '../version.js';

export interface AgentRunOptions {
  config?: string;
  keys?: string;
  poll?: string;
  jobs?: string;
  maxRetryDelay?: string;
}

function seconds(
  text: string | undefined,
  flag: string,
  min: number,
  max: number,
): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new CofferError('USAGE', `${flag} ${text}: give a number from ${min} to ${max}`);
  }
  return n;
}

/** Runs the daemon until SIGINT or SIGTERM. */
export async function agentRun(options: AgentRunOptions): Promise<number> {
  const poll = seconds(options.poll, '--poll', 1, 30);
  const maxJobs = seconds(options.jobs, '--jobs', 1, 16);
  const maxRetry = seconds(options.maxRetryDelay, '--max-retry-delay', 1, 3600);
  const loaded = await loadAgent(resolveConfigDir(options.config));
  const keysPath = options.keys ? resolve(options.keys) : storedKeysPath(loaded.dir);
  const keys = await loadStoredKeys(keysPath, loaded.state.keyringId);
  if (!keys) {
    throw new CofferError(
      'NO_STORED_KEYS',
      `no stored keys at ${keysPath}: the daemon needs this machine's keys to back up without a passphrase. Run 'coffer agent unlock' once (it asks for the passphrase; see docs/security.md, "Unattended agents")`,
    );
  }
  const client = new VaultClient({
    url: loaded.state.url,
    fingerprint: loaded.state.fingerprint,
    token: loaded.token,
  });
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await new AgentDaemon({
      client,
      agentId: loaded.state.agentId,
      keys,
      configDir: loaded.dir,
      markers: new RunMarkers(loaded.dir),
      hostname: hostname(),
      username: userInfo().username,
      program: PROGRAM,
      version: PROGRAM.split('/')[1]!,
      log: jsonLog(),
      ...(poll !== undefined ? { pollWaitSeconds: poll } : {}),
      ...(maxJobs !== undefined ? { maxJobs } : {}),
      ...(maxRetry !== undefined ? { maxRetryDelayMs: maxRetry * 1000 } : {}),
    }).run(stop.signal);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await client.close();
  }
}
