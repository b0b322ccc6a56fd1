/**
 * The fixed inputs of docs/test-vectors/, shared by the generator (scripts/gen-test-vectors.ts)
 * and the tests that recompute the vectors.
 */
import { BlobType, EntryType, type Manifest, type TreeEntry } from '../src/index.js';

/** Bytes 0, 1, 2, … of length `n` (mod 256). */
export function counting(n: number, start = 0): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => (start + i) & 0xff));
}

/** The xorshift32 byte stream named in the chunker vector: seed, then each step's low byte. */
export function xorshiftBytes(seed: number, n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export const KEYRING_INPUT = {
  passphrase: 'correct horse battery staple',
  masterKeys: counting(64),
  salt: Buffer.alloc(32, 0x11),
  nonce: Buffer.alloc(12, 0x22),
  id: '00112233445566778899aabbccddeeff',
  kdf: { N: 1024, r: 8, p: 1 },
  now: new Date('2026-01-01T00:00:00.000Z'),
};

/** The join key vector (format.md §3.2): the keyring vector's master keys and a registration. */
export const JOIN_INPUT = {
  masterKeys: KEYRING_INPUT.masterKeys,
  keyringId: KEYRING_INPUT.id,
  vaultId: 'vt_0123456789abcdef0123456789abcdef',
  secret: 'cfr_registration-secret-of-the-test-vector',
};

export const BLOB_KEYS = { encryptionKey: counting(32, 0x40), idKey: counting(32, 0x80) };

export const BLOB_CASES: {
  name: string;
  type: BlobType;
  plaintext: Buffer;
  nonce: Buffer;
  compress: boolean;
}[] = [
  {
    name: 'empty data blob',
    type: BlobType.data,
    plaintext: Buffer.alloc(0),
    nonce: Buffer.alloc(12, 1),
    compress: false,
  },
  {
    name: 'short data blob',
    type: BlobType.data,
    plaintext: Buffer.from('hello, coffer\n'),
    nonce: Buffer.alloc(12, 2),
    compress: true,
  },
  {
    name: 'tree-typed blob',
    type: BlobType.tree,
    plaintext: counting(200),
    nonce: Buffer.alloc(12, 3),
    compress: false,
  },
  {
    name: 'compressible data blob (zstd)',
    type: BlobType.data,
    plaintext: Buffer.from('coffer keeps your data safe. '.repeat(200)),
    nonce: Buffer.alloc(12, 4),
    compress: true,
  },
];

export const CHUNKER_INPUT = {
  idKey: counting(32, 0xa0),
  seed: 0x12345678,
  length: 3 * 1024 * 1024,
};

const id = (b: number): Buffer => Buffer.alloc(32, b);

export const TREES: { name: string; entries: TreeEntry[] }[] = [
  { name: 'empty directory', entries: [] },
  {
    name: 'one of each kind',
    entries: [
      {
        name: Buffer.from('file.txt'),
        type: EntryType.file,
        mode: 0o644,
        uid: 1000,
        gid: 1000,
        user: 'ann',
        group: 'staff',
        mtimeNs: 1_700_000_000_123_456_789n,
        ctimeNs: 1_700_000_001_000_000_000n,
        size: 3_000_000,
        device: 2049,
        inode: 131_073,
        links: 1,
        rdev: 0,
        content: [
          { id: id(0xaa), length: 2_000_000 },
          { id: id(0xbb), length: 1_000_000 },
        ],
        xattrs: [{ name: Buffer.from('user.tag'), value: Buffer.from('blue') }],
      },
      {
        name: Buffer.from([0x66, 0xff, 0xfe]),
        type: EntryType.symlink,
        mode: 0o777,
        uid: 0,
        gid: 0,
        mtimeNs: -5n,
        ctimeNs: 0n,
        size: 0,
        device: 0,
        inode: 0,
        links: 1,
        rdev: 0,
        linkTarget: Buffer.from('../target'),
      },
      {
        name: Buffer.from('sub'),
        type: EntryType.directory,
        mode: 0o755,
        uid: 0,
        gid: 0,
        mtimeNs: 1n,
        ctimeNs: 1n,
        size: 0,
        device: 0,
        inode: 0,
        links: 2,
        rdev: 0,
        subtree: id(0xcc),
      },
    ],
  },
];

export const MANIFEST: Manifest = {
  tree: id(0xdd),
  paths: [Buffer.from('/home/ann'), Buffer.from([0x2f, 0xc3, 0x28])],
  hostname: 'host-1',
  username: 'ann',
  startTimeNs: 1_764_000_000_000_000_000n,
  endTimeNs: 1_764_000_060_000_000_000n,
  parent: id(0xee),
  item: 'default',
  tags: ['nightly'],
  excludes: ['*.tmp'],
  stats: {
    files: 10,
    directories: 2,
    otherEntries: 1,
    bytes: 12345,
    newFiles: 3,
    changedFiles: 1,
    unchangedFiles: 6,
    addedBytes: 999,
    storedBytes: 800,
    warnings: 0,
  },
  program: 'coffer/0.1.0',
};

/** Three fabricated sealed blobs (any bytes with a valid header) for the pack vector. */
export function packBlobs(): { id: Buffer; type: BlobType; sealed: Buffer; refs: Buffer[] }[] {
  const sealed = (type: number, n: number, fill: number): Buffer =>
    Buffer.concat([Buffer.from([1, type, 0, 0]), Buffer.alloc(12, fill), Buffer.alloc(n, fill)]);
  return [
    { id: id(0x01), type: BlobType.data, sealed: sealed(1, 40, 0x51), refs: [] },
    { id: id(0x02), type: BlobType.tree, sealed: sealed(2, 33, 0x52), refs: [id(0x01), id(0x03)] },
    { id: id(0x03), type: BlobType.manifest, sealed: sealed(3, 20, 0x53), refs: [id(0x02)] },
  ];
}

/**
 * The pack of packBlobs as version 1 wrote it (every ref as its id): readers must still take
 * it, and find the same entries as in the version 2 pack.
 */
export const PACK_V1_HEX =
  '0101000051515151515151515151515151515151515151515151515151515151515151515151515151515151515151515151515151515151010200005252525252525252525252525252525252525252525252525252525252525252525252525252525252525252520103000053535353535353535353535353535353535353535353535353535353535353534346504601030101010101010101010101010101010101010101010101010101010101010101010038000202020202020202020202020202020202020202020202020202020202020202023831020101010101010101010101010101010101010101010101010101010101010101030303030303030303030303030303030303030303030303030303030303030303030303030303030303030303030303030303030303030303030303030303030369240102020202020202020202020202020202020202020202020202020202020202021cb83bf3f3af16599c3570ea8a4fb9fed20000004346504b';

/** The item sources vector of format.md §12, sealed with BLOB_KEYS. */
export const ITEM_SOURCES = {
  item: 'documents',
  sources: { paths: ['/home/ann/Documents', '/etc'], excludes: ['*.tmp'] },
  nonce: Buffer.alloc(12, 0x33),
};
