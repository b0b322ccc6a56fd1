/**
 * @module tree/tree
 * Canonical encoding of one directory (docs/format.md §6). Names are byte strings; the same
 * entries always give the same bytes, and so the same id.
 */
import { FormatError } from '../errors.js';
import { FieldReader, FieldWriter } from '../encoding/fields.js';
import { ByteReader, ByteWriter } from '../encoding/varint.js';
import { ID_LENGTH } from '../ids.js';

export const EntryType = {
  file: 1,
  directory: 2,
  symlink: 3,
  fifo: 4,
  charDevice: 5,
  blockDevice: 6,
  socket: 7,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface ContentRef {
  id: Buffer;
  length: number;
}

export interface Xattr {
  name: Buffer;
  value: Buffer;
}

/** One directory entry. Optional fields are undefined when absent. */
export interface TreeEntry {
  name: Buffer;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  user?: string;
  group?: string;
  mtimeNs: bigint;
  ctimeNs: bigint;
  size: number;
  linkTarget?: Buffer;
  xattrs?: Xattr[];
  device: number;
  inode: number;
  links: number;
  rdev: number;
  content?: ContentRef[];
  subtree?: Buffer;
}

export const TREE_VERSION = 1;
const LIMITS = {
  entries: 4_194_304,
  name: 4096,
  xattrs: 4096,
  xattrName: 255,
  xattrValue: 64 * 1024,
  content: 16_777_216,
  treeBytes: 128 * 1024 * 1024,
};
const T = {
  name: 1,
  type: 2,
  mode: 3,
  uid: 4,
  gid: 5,
  user: 6,
  group: 7,
  mtime: 8,
  ctime: 9,
  size: 10,
  linkTarget: 11,
  xattrs: 12,
  device: 13,
  inode: 14,
  links: 15,
  rdev: 16,
  content: 17,
  subtree: 18,
} as const;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function checkName(name: Uint8Array, fail: (m: string) => never): void {
  if (name.length === 0 || name.length > LIMITS.name) fail(`name of ${name.length} bytes`);
  if (name.includes(0x2f) || name.includes(0)) fail('a name may not contain "/" or NUL');
  if (
    (name.length === 1 && name[0] === 0x2e) ||
    (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e)
  ) {
    fail('a name may not be "." or ".."');
  }
}

function checkEntry(e: TreeEntry, fail: (m: string) => never): void {
  checkName(e.name, fail);
  if (!Number.isInteger(e.type) || e.type < 1 || e.type > 7) fail(`unknown entry type ${e.type}`);
  if (e.type === EntryType.directory) {
    if (!e.subtree || e.subtree.length !== ID_LENGTH) fail('a directory needs a subtree id');
  } else if (e.subtree) fail('only directories have a subtree');
  if (e.content && e.content.length > 0) {
    if (e.type !== EntryType.file) fail('only files have content');
    let sum = 0;
    for (const c of e.content) {
      if (c.id.length !== ID_LENGTH) fail('content ids are 32 bytes');
      sum += c.length;
    }
    if (sum !== e.size) fail(`content adds up to ${sum} bytes, size says ${e.size}`);
  } else if (e.type === EntryType.file && e.size !== 0)
    fail(`a file of ${e.size} bytes without content`);
  if (e.mode !== (e.mode & 0o7777)) fail(`mode ${e.mode.toString(8)} has bits beyond 0o7777`);
}

function encodeEntry(e: TreeEntry): Buffer {
  const f = new FieldWriter();
  f.raw(T.name, e.name, true);
  f.uint(T.type, e.type);
  f.uint(T.mode, e.mode);
  f.uint(T.uid, e.uid);
  f.uint(T.gid, e.gid);
  f.raw(T.user, e.user === undefined ? undefined : Buffer.from(e.user, 'utf8'));
  f.raw(T.group, e.group === undefined ? undefined : Buffer.from(e.group, 'utf8'));
  f.sint(T.mtime, e.mtimeNs);
  f.sint(T.ctime, e.ctimeNs);
  f.uint(T.size, e.size);
  f.raw(T.linkTarget, e.linkTarget);
  if (e.xattrs && e.xattrs.length > 0) {
    const sorted = [...e.xattrs].sort((a, b) => Buffer.compare(a.name, b.name));
    const w = new ByteWriter().uvarint(sorted.length);
    for (const x of sorted) w.bytes(x.name).bytes(x.value);
    f.raw(T.xattrs, w.finish());
  }
  f.uint(T.device, e.device);
  f.uint(T.inode, e.inode);
  f.uint(T.links, e.links);
  f.uint(T.rdev, e.rdev);
  if (e.content && e.content.length > 0) {
    const w = new ByteWriter(e.content.length * 36 + 8).uvarint(e.content.length);
    for (const c of e.content) w.raw(c.id).uvarint(c.length);
    f.raw(T.content, w.finish());
  }
  f.raw(T.subtree, e.subtree);
  return f.finish();
}

/** Encodes a directory's entries canonically (sorted by name bytes). */
export function encodeTree(entries: readonly TreeEntry[]): Buffer {
  const fail = (m: string): never => {
    throw new FormatError('tree', m);
  };
  const sorted = [...entries].sort((a, b) => Buffer.compare(a.name, b.name));
  const w = new ByteWriter().u8(TREE_VERSION).uvarint(sorted.length);
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i]!;
    checkEntry(e, fail);
    if (i > 0 && sorted[i - 1]!.name.equals(e.name))
      fail(`duplicate name ${e.name.toString('utf8')}`);
    w.bytes(encodeEntry(e));
  }
  return w.finish();
}

function decodeEntry(bytes: Uint8Array, start: number, end: number): TreeEntry {
  const f = new FieldReader(bytes, 'tree entry', start, end);
  const e: TreeEntry = {
    name: Buffer.alloc(0),
    type: EntryType.file,
    mode: 0,
    uid: 0,
    gid: 0,
    mtimeNs: 0n,
    ctimeNs: 0n,
    size: 0,
    device: 0,
    inode: 0,
    links: 0,
    rdev: 0,
  };
  let sawName = false;
  let sawType = false;
  while (f.next()) {
    const tag = f.tag;
    switch (tag) {
      case T.name:
        e.name = Buffer.from(f.value());
        sawName = true;
        break;
      case T.type: {
        const t = f.uint();
        if (t < 1 || t > 7) f.fail(`unknown entry type ${t}`);
        e.type = t as EntryType;
        sawType = true;
        break;
      }
      case T.mode:
        e.mode = f.uint();
        break;
      case T.uid:
        e.uid = f.uint();
        break;
      case T.gid:
        e.gid = f.uint();
        break;
      case T.user:
      case T.group: {
        let s: string;
        try {
          s = utf8.decode(f.value());
        } catch {
          return f.fail('user or group name is not UTF-8');
        }
        if (tag === T.user) e.user = s;
        else e.group = s;
        break;
      }
      case T.mtime:
        e.mtimeNs = f.sint();
        break;
      case T.ctime:
        e.ctimeNs = f.sint();
        break;
      case T.size:
        e.size = f.uint();
        break;
      case T.linkTarget:
        if (f.length > LIMITS.name) f.fail('link target too long');
        e.linkTarget = Buffer.from(f.value());
        break;
      case T.xattrs: {
        const r = f.reader('tree xattrs');
        const n = r.uvarint();
        if (n > LIMITS.xattrs || n * 2 > r.remaining) r.fail(`${n} xattrs`);
        const xattrs: Xattr[] = [];
        for (let i = 0; i < n; i++) {
          const name = Buffer.from(r.bytes(LIMITS.xattrName));
          const val = Buffer.from(r.bytes(LIMITS.xattrValue));
          if (i > 0 && Buffer.compare(xattrs[i - 1]!.name, name) >= 0)
            r.fail('xattrs not sorted and unique');
          xattrs.push({ name, value: val });
        }
        if (r.remaining !== 0) r.fail('trailing bytes after xattrs');
        if (n === 0) f.fail('an empty xattrs field must be omitted');
        e.xattrs = xattrs;
        break;
      }
      case T.device:
        e.device = f.uint();
        break;
      case T.inode:
        e.inode = f.uint();
        break;
      case T.links:
        e.links = f.uint();
        break;
      case T.rdev:
        e.rdev = f.uint();
        break;
      case T.content: {
        const r = f.reader('tree content');
        const n = r.uvarint();
        if (n > LIMITS.content || n * (ID_LENGTH + 1) > r.remaining) r.fail(`${n} content ids`);
        if (n === 0) f.fail('an empty content field must be omitted');
        const content: ContentRef[] = new Array<ContentRef>(n);
        for (let i = 0; i < n; i++)
          content[i] = { id: Buffer.from(r.raw(ID_LENGTH)), length: r.uvarint() };
        if (r.remaining !== 0) r.fail('trailing bytes after content');
        e.content = content;
        break;
      }
      case T.subtree:
        if (f.length !== ID_LENGTH) f.fail('subtree id is not 32 bytes');
        e.subtree = Buffer.from(f.value());
        break;
      default:
        // A later, optional field: skipped.
        break;
    }
  }
  if (!sawName) f.fail('entry without a name');
  if (!sawType) f.fail('entry without a type');
  checkEntry(e, (m) => f.fail(m));
  return e;
}

/** Decodes and validates a tree. */
export function decodeTree(bytes: Uint8Array): TreeEntry[] {
  if (bytes.length > LIMITS.treeBytes)
    throw new FormatError('tree', `${bytes.length} bytes is over the limit`);
  const r = new ByteReader(bytes, 'tree');
  const version = r.u8();
  if (version !== TREE_VERSION)
    r.fail(`version ${version} is not supported (this program reads version 1)`);
  const n = r.uvarint();
  if (n > LIMITS.entries || n > r.remaining) r.fail(`${n} entries`);
  const entries: TreeEntry[] = [];
  for (let i = 0; i < n; i++) {
    const start = r.skip(r.remaining);
    const e = decodeEntry(bytes, start, r.offset);
    if (i > 0 && Buffer.compare(entries[i - 1]!.name, e.name) >= 0)
      r.fail('entries not sorted by name or not unique');
    entries.push(e);
  }
  if (r.remaining !== 0) r.fail('trailing bytes after the entries');
  return entries;
}

/** Ids a tree refers to, in order of appearance without duplicates (pack footer refs, §5). */
export function treeRefs(entries: readonly TreeEntry[]): Buffer[] {
  const seen = new Set<string>();
  const out: Buffer[] = [];
  const add = (id: Buffer): void => {
    const key = id.toString('hex');
    if (seen.has(key)) return;
    seen.add(key);
    out.push(id);
  };
  const sorted = [...entries].sort((a, b) => Buffer.compare(a.name, b.name));
  for (const e of sorted) {
    for (const c of e.content ?? []) add(c.id);
    if (e.subtree) add(e.subtree);
  }
  return out;
}
