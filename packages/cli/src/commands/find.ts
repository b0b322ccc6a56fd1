/**
 * @module commands/find
 * `coffer find PATTERN [--point P]`: which recovery points hold a file, newest point first,
 * printed as found.
 */
import { BlobReader, Finder, NamePattern, PointTree, resolvePoint } from '@coffer/agent';
import { agentSession, type AgentOptions } from '../connect.js';
import { entryJson, longLine } from '../entry-format.js';
import { count, JsonListWriter, writeStdout } from '../output.js';
import { listPoints } from '../point-select.js';

export interface FindOptions extends AgentOptions {
  point?: string;
  item?: string;
  json?: boolean;
}

/** Searches every point (or one) for entries matching `pattern`. */
export async function find(pattern: string, options: FindOptions): Promise<number> {
  const matcher = new NamePattern(pattern);
  const session = await agentSession(options);
  try {
    const all = await listPoints(session.client, session.sourceAgentId, options.item);
    const points = options.point ? [resolvePoint(all, options.point)] : [...all].reverse();
    const reader = new BlobReader(session.client, session.sourceAgentId, session.keys);
    const finder = new Finder(matcher);
    const json = options.json ? new JsonListWriter('matches', { pattern }) : undefined;
    let found = 0;
    try {
      for (const point of points) {
        const tree = await PointTree.open(reader, point.id);
        await finder.search(tree, async (path, entry) => {
          found++;
          if (json)
            await json.item({
              pointId: point.id,
              endTime: point.endTime,
              ...entryJson(entry, path),
            });
          else
            await writeStdout(
              `${point.id.slice(0, 12)}  ${point.endTime}  ${longLine(entry, path)}\n`,
            );
        });
      }
    } finally {
      json?.end();
    }
    if (!json && found === 0) {
      process.stderr.write(`No entry matches ${pattern} in ${count(points.length, 'point')}.\n`);
    }
    return 0;
  } finally {
    await session.client.close();
  }
}
