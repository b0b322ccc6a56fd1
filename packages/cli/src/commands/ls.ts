/**
 * @module commands/ls
 * `coffer ls POINT [PATH] [--recursive] [--long]`: lists a directory of a recovery point, or
 * everything below it, streaming (one directory in memory per level).
 */
import { BlobReader, PointTree } from '@coffer/agent';
import { CofferError, type TreeEntry } from '@coffer/core';
import { agentSession, type AgentOptions } from '../connect.js';
import { entryJson, longLine, shortLine } from '../entry-format.js';
import { JsonListWriter, writeStdout } from '../output.js';
import { selectPoint } from '../point-select.js';

export interface LsOptions extends AgentOptions {
  item?: string;
  json?: boolean;
  recursive?: boolean;
  long?: boolean;
}

/** Lists the entries at `path` (default: the root) of a point. */
export async function ls(
  pointSpec: string,
  path: string | undefined,
  options: LsOptions,
): Promise<number> {
  const session = await agentSession(options);
  try {
    const point = await selectPoint(session.client, session.sourceAgentId, pointSpec, options.item);
    const tree = await PointTree.open(
      new BlobReader(session.client, session.sourceAgentId, session.keys),
      point.id,
    );
    const absolute = await tree.resolve(path ?? '/');
    const target = await tree.lookup(absolute);
    if (!target) {
      throw new CofferError('NOT_FOUND', `${absolute} is not in point ${point.id.slice(0, 12)}`);
    }
    const json = options.json
      ? new JsonListWriter('entries', { point, path: absolute })
      : undefined;
    const show = async (entryPath: Buffer, entry: TreeEntry): Promise<void> => {
      // Without --recursive a directory's entries show by name, as ls does.
      const shown = options.recursive ? entryPath : entry.name;
      if (json) await json.item(entryJson(entry, entryPath));
      else
        await writeStdout(`${options.long ? longLine(entry, shown) : shortLine(entry, shown)}\n`);
    };
    try {
      if (options.recursive) await tree.walk(absolute, show);
      else if (target.kind === 'entry') await show(Buffer.from(absolute), target.entry);
      else {
        const base = absolute.replace(/\/+$/, '');
        for (const entry of target.entries) {
          await show(Buffer.concat([Buffer.from(`${base}/`), entry.name]), entry);
        }
      }
    } finally {
      json?.end();
    }
    return 0;
  } finally {
    await session.client.close();
  }
}
