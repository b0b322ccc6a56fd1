/**
 * @module commands/ls
 * `coffer ls POINT [PATH]`: lists a directory of a recovery point.
 */
import { BlobReader, resolvePoint } from '@coffer/agent';
import {
  BlobType,
  CofferError,
  EntryType,
  decodeManifest,
  decodeTree,
  idHex,
  type TreeEntry,
} from '@coffer/core';
import { agentSession, type AgentOptions } from '../connect.js';
import { printJson, printLines } from '../output.js';

const TYPE_NAMES: Record<number, string> = {
  1: 'file',
  2: 'dir',
  3: 'symlink',
  4: 'fifo',
  5: 'chardev',
  6: 'blockdev',
  7: 'socket',
};
const TYPE_CHARS: Record<number, string> = {
  1: '-',
  2: 'd',
  3: 'l',
  4: 'p',
  5: 'c',
  6: 'b',
  7: 's',
};

function modeString(entry: TreeEntry): string {
  const bits = 'rwxrwxrwx';
  let out = TYPE_CHARS[entry.type] ?? '?';
  for (let i = 0; i < 9; i++) out += entry.mode & (1 << (8 - i)) ? bits[i] : '-';
  return out;
}

export interface LsOptions extends AgentOptions {
  item?: string;
  json?: boolean;
}

/** Lists the entries at `path` (default: the root) of a point. */
export async function ls(
  pointSpec: string,
  path: string | undefined,
  options: LsOptions,
): Promise<number> {
  const session = await agentSession(options);
  try {
    const { points } = await session.client.points(session.sourceAgentId, options.item);
    const point = resolvePoint(points, pointSpec);
    const reader = new BlobReader(session.client, session.sourceAgentId, session.keys);
    const manifest = decodeManifest(await reader.read(point.id, BlobType.manifest));
    let entries = decodeTree(await reader.read(idHex(manifest.tree), BlobType.tree));
    const names = (path ?? '/').split('/').filter((p) => p.length > 0);
    for (const name of names) {
      const entry = entries.find((e) => e.name.equals(Buffer.from(name)));
      if (!entry)
        throw new CofferError('NOT_FOUND', `${path} is not in point ${point.id.slice(0, 12)}`);
      if (entry.type !== EntryType.directory || !entry.subtree) {
        entries = [entry];
        break;
      }
      entries = decodeTree(await reader.read(idHex(entry.subtree), BlobType.tree));
    }
    if (options.json) {
      printJson({
        point: point.id,
        path: path ?? '/',
        entries: entries.map((e) => ({
          name: e.name.toString('utf8'),
          nameBase64: e.name.toString('base64'),
          type: TYPE_NAMES[e.type],
          mode: e.mode,
          uid: e.uid,
          gid: e.gid,
          size: e.size,
          mtime: new Date(Number(e.mtimeNs / 1_000_000n)).toISOString(),
          ...(e.linkTarget ? { linkTarget: e.linkTarget.toString('utf8') } : {}),
        })),
      });
    } else {
      printLines(
        ...entries.map((e) => {
          const time = new Date(Number(e.mtimeNs / 1_000_000n))
            .toISOString()
            .slice(0, 19)
            .replace('T', ' ');
          const link = e.linkTarget ? ` -> ${e.linkTarget.toString('utf8')}` : '';
          return `${modeString(e)} ${String(e.uid).padStart(5)} ${String(e.gid).padStart(5)} ${String(e.size).padStart(12)} ${time} ${JSON.stringify(e.name.toString('utf8')).slice(1, -1)}${link}`;
        }),
      );
    }
    return 0;
  } finally {
    await session.client.close();
  }
}
