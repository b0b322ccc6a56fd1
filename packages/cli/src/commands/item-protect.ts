/**
 * @module commands/item-protect
 * `coffer protect PATH... --item NAME --policy NAME`, run on the machine: makes (or updates) a
 * protected item whose paths are sealed with this machine's keyring, so that the vault can
 * schedule its backups without being able to read what they contain.
 */
import { CofferError, sealSources } from '@coffer/core';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { agentConnection, unlockKeys, type AgentOptions } from '../connect.js';
import { printJson, printLines } from '../output.js';

export interface ProtectOptions extends AgentOptions {
  item: string;
  policy?: string;
  exclude: string[];
  json?: boolean;
}

/** Absolute, existing paths, or a usage error naming the first bad one. */
async function checkedPaths(paths: string[]): Promise<string[]> {
  if (paths.length === 0 || paths.some((p) => p.trim() === '')) {
    throw new CofferError(
      'USAGE',
      'name at least one path to protect, e.g. coffer protect /home --item home',
    );
  }
  const out: string[] = [];
  for (const path of paths) {
    const absolute = resolve(path);
    if (!(await stat(absolute).catch(() => undefined))) {
      throw new CofferError('USAGE', `${path} does not exist on this machine`);
    }
    out.push(absolute);
  }
  return out;
}

/** Protects paths of this machine as an item. */
export async function protect(paths: string[], options: ProtectOptions): Promise<number> {
  // Checked here, not by commander: a mandatory option of `protect` would be demanded of its
  // subcommand `protect stop` too.
  if (options.item === undefined) {
    throw new CofferError('USAGE', "required option '--item <name>' not specified");
  }
  const absolute = await checkedPaths(paths);
  const connection = await agentConnection({ ...options, agent: undefined });
  try {
    const keys = await unlockKeys(connection, options);
    const sources = sealSources(keys, options.item, { paths: absolute, excludes: options.exclude });
    const item = await connection.client.protect(connection.loaded.state.agentId, {
      name: options.item,
      sources,
      ...(options.policy ? { policy: options.policy } : {}),
    });
    if (options.json) printJson({ item, paths: absolute, excludes: options.exclude });
    else
      printLines(
        `Protected item ${item.name} (${item.id}): ${absolute.join(', ')}${options.exclude.length > 0 ? ` excluding ${options.exclude.join(', ')}` : ''}.`,
        item.policy
          ? `Policy ${item.policy}: next backup ${item.nextRunAt ?? 'when the policy says'}; 'coffer agent run' runs it.`
          : 'No policy yet: backups run with `coffer backup-now ITEM` or once a policy is given.',
      );
    return 0;
  } finally {
    await connection.client.close();
  }
}
