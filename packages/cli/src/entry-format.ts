/**
 * @module entry-format
 * How the CLI shows a directory entry of a point: `ls -l` style text, or the JSON object of
 * docs/cli.md. Owners show by name where the point recorded one, else by number.
 */
import { EntryType, type TreeEntry } from '@coffer/core';

const TYPE_NAMES: Record<number, string> = {
  [EntryType.file]: 'file',
  [EntryType.directory]: 'dir',
  [EntryType.symlink]: 'symlink',
  [EntryType.fifo]: 'fifo',
  [EntryType.charDevice]: 'chardev',
  [EntryType.blockDevice]: 'blockdev',
  [EntryType.socket]: 'socket',
};
const TYPE_CHARS: Record<number, string> = {
  [EntryType.file]: '-',
  [EntryType.directory]: 'd',
  [EntryType.symlink]: 'l',
  [EntryType.fifo]: 'p',
  [EntryType.charDevice]: 'c',
  [EntryType.blockDevice]: 'b',
  [EntryType.socket]: 's',
};

/** `drwsr-sr-t` and the like: type, permissions, set-uid, set-gid and sticky bits. */
export function modeString(type: number, mode: number): string {
  let out = TYPE_CHARS[type] ?? '?';
  const triples: [number, number, string][] = [
    [6, 0o4000, 's'],
    [3, 0o2000, 's'],
    [0, 0o1000, 't'],
  ];
  for (const [shift, special, mark] of triples) {
    const bits = (mode >> shift) & 7;
    out += bits & 4 ? 'r' : '-';
    out += bits & 2 ? 'w' : '-';
    const x = (bits & 1) !== 0;
    if (mode & special) out += x ? mark : mark.toUpperCase();
    else out += x ? 'x' : '-';
  }
  return out;
}

function time(entry: TreeEntry): string {
  return new Date(Number(entry.mtimeNs / 1_000_000n)).toISOString();
}

/** A path or name for a terminal: control characters and invalid UTF-8 escaped. */
export function showName(bytes: Buffer): string {
  return JSON.stringify(bytes.toString('utf8')).slice(1, -1);
}

/** One `ls -l` line. */
export function longLine(entry: TreeEntry, shown: Buffer): string {
  const user = entry.user ?? String(entry.uid);
  const group = entry.group ?? String(entry.gid);
  const when = time(entry).slice(0, 19).replace('T', ' ');
  const link = entry.linkTarget ? ` -> ${showName(entry.linkTarget)}` : '';
  return `${modeString(entry.type, entry.mode)} ${user.padEnd(8)} ${group.padEnd(8)} ${String(entry.size).padStart(12)} ${when} ${showName(shown)}${link}`;
}

/** One short line: the name, with `/` after a directory. */
export function shortLine(entry: TreeEntry, shown: Buffer): string {
  return showName(shown) + (entry.type === EntryType.directory ? '/' : '');
}

/** The JSON object of an entry at `path` (docs/cli.md). */
export function entryJson(entry: TreeEntry, path: Buffer): Record<string, unknown> {
  return {
    path: path.toString('utf8'),
    name: entry.name.toString('utf8'),
    ...(Buffer.from(entry.name.toString('utf8')).equals(entry.name)
      ? {}
      : { nameBase64: entry.name.toString('base64') }),
    type: TYPE_NAMES[entry.type],
    mode: entry.mode,
    modeString: modeString(entry.type, entry.mode),
    uid: entry.uid,
    gid: entry.gid,
    ...(entry.user !== undefined ? { user: entry.user } : {}),
    ...(entry.group !== undefined ? { group: entry.group } : {}),
    size: entry.size,
    mtime: time(entry),
    ...(entry.linkTarget ? { linkTarget: entry.linkTarget.toString('utf8') } : {}),
  };
}
