/**
 * @module manifest/manifest
 * Recovery point manifests (docs/format.md §7).
 */
import { FormatError } from '../errors.js';
import { FieldReader, FieldWriter } from '../encoding/fields.js';
import { ByteReader, ByteWriter } from '../encoding/varint.js';
import { ID_LENGTH } from '../ids.js';

export interface PointStats {
  files: number;
  directories: number;
  otherEntries: number;
  bytes: number;
  newFiles: number;
  changedFiles: number;
  unchangedFiles: number;
  addedBytes: number;
  storedBytes: number;
  warnings: number;
}

export interface Manifest {
  tree: Buffer;
  paths: Buffer[];
  hostname: string;
  username: string;
  startTimeNs: bigint;
  endTimeNs: bigint;
  parent?: Buffer;
  item: string;
  tags: string[];
  excludes: string[];
  stats: PointStats;
  program: string;
}

export const MANIFEST_VERSION = 1;
const STATS_KEYS = [
  'files',
  'directories',
  'otherEntries',
  'bytes',
  'newFiles',
  'changedFiles',
  'unchangedFiles',
  'addedBytes',
  'storedBytes',
  'warnings',
] as const;
const MAX_LIST = 65_536;
const MAX_MANIFEST = 128 * 1024 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function list(values: readonly Uint8Array[]): Buffer | undefined {
  if (values.length === 0) return undefined;
  const w = new ByteWriter().uvarint(values.length);
  for (const v of values) w.bytes(v);
  return w.finish();
}

/** Encodes a manifest. */
export function encodeManifest(m: Manifest): Buffer {
  if (m.tree.length !== ID_LENGTH) throw new FormatError('manifest', 'tree id is not 32 bytes');
  if (m.parent && m.parent.length !== ID_LENGTH)
    throw new FormatError('manifest', 'parent id is not 32 bytes');
  const stats = new FieldWriter();
  STATS_KEYS.forEach((key, i) => stats.uint(i + 1, m.stats[key]));
  const statsBody = stats.finish();
  const f = new FieldWriter()
    .raw(1, m.tree)
    .raw(2, list(m.paths))
    .raw(3, Buffer.from(m.hostname, 'utf8'))
    .raw(4, Buffer.from(m.username, 'utf8'))
    .sint(5, m.startTimeNs)
    .sint(6, m.endTimeNs)
    .raw(7, m.parent)
    .raw(8, Buffer.from(m.item, 'utf8'))
    .raw(9, list(m.tags.map((t) => Buffer.from(t, 'utf8'))))
    .raw(10, list(m.excludes.map((t) => Buffer.from(t, 'utf8'))))
    .raw(11, statsBody)
    .raw(12, Buffer.from(m.program, 'utf8'));
  return new ByteWriter().u8(MANIFEST_VERSION).bytes(f.finish()).finish();
}

function readList(value: Uint8Array, what: string): Buffer[] {
  const r = new ByteReader(value, what);
  const n = r.uvarint();
  if (n > MAX_LIST || n > r.remaining) r.fail(`${n} items`);
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) out.push(Buffer.from(r.bytes(r.remaining)));
  if (r.remaining !== 0) r.fail('trailing bytes');
  return out;
}

function text(value: Uint8Array, f: FieldReader): string {
  try {
    return utf8.decode(value);
  } catch {
    return f.fail('text field is not UTF-8');
  }
}

/** Decodes and validates a manifest. */
export function decodeManifest(bytes: Uint8Array): Manifest {
  if (bytes.length > MAX_MANIFEST) throw new FormatError('manifest', 'over the size limit');
  const r = new ByteReader(bytes, 'manifest');
  const version = r.u8();
  if (version !== MANIFEST_VERSION)
    r.fail(`version ${version} is not supported (this program reads version 1)`);
  const body = r.bytes(r.remaining);
  if (r.remaining !== 0) r.fail('trailing bytes after the body');
  const f = new FieldReader(body, 'manifest');
  const m: Manifest = {
    tree: Buffer.alloc(0),
    paths: [],
    hostname: '',
    username: '',
    startTimeNs: 0n,
    endTimeNs: 0n,
    item: '',
    tags: [],
    excludes: [],
    stats: Object.fromEntries(STATS_KEYS.map((k) => [k, 0])) as unknown as PointStats,
    program: '',
  };
  while (f.next()) {
    const tag = f.tag;
    const value = f.value();
    switch (tag) {
      case 1:
      case 7:
        if (value.length !== ID_LENGTH) f.fail('id field is not 32 bytes');
        if (tag === 1) m.tree = Buffer.from(value);
        else m.parent = Buffer.from(value);
        break;
      case 2:
        m.paths = readList(value, 'manifest paths');
        break;
      case 3:
        m.hostname = text(value, f);
        break;
      case 4:
        m.username = text(value, f);
        break;
      case 5:
        m.startTimeNs = f.sint();
        break;
      case 6:
        m.endTimeNs = f.sint();
        break;
      case 8:
        m.item = text(value, f);
        break;
      case 9:
      case 10: {
        const strings = readList(value, 'manifest strings').map((b) => text(b, f));
        if (tag === 9) m.tags = strings;
        else m.excludes = strings;
        break;
      }
      case 11: {
        const s = new FieldReader(value, 'manifest stats');
        while (s.next()) {
          const key = STATS_KEYS[s.tag - 1];
          if (key) m.stats[key] = s.uint();
        }
        break;
      }
      case 12:
        m.program = text(value, f);
        break;
      default:
        break;
    }
  }
  if (m.tree.length !== ID_LENGTH) f.fail('manifest without a root tree');
  return m;
}

/** Ids a manifest refers to (its root tree), for the pack footer. */
export function manifestRefs(m: Manifest): Buffer[] {
  return [m.tree];
}
