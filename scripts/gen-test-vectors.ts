/**
 * Writes docs/test-vectors/*.json from the fixed inputs in packages/core/test/vector-inputs.ts.
 * Run only when the format changes on purpose (and say so in docs/format.md):
 *   node --conditions=@coffer/source --import tsx scripts/gen-test-vectors.ts
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import {
  DEFAULT_CHUNKER_PARAMS,
  PackWriter,
  StreamChunker,
  blobId,
  createKeyringWith,
  deriveJoinKey,
  encodeManifest,
  encodeTree,
  gearTable,
  joinKeySeed,
  joinMessage,
  sealBlob,
  sealSources,
  signJoin,
  type ChunkerParams,
  type MasterKeys,
} from '../packages/core/src/index.js';
import {
  BLOB_CASES,
  BLOB_KEYS,
  CHUNKER_INPUT,
  ITEM_SOURCES,
  JOIN_INPUT,
  KEYRING_INPUT,
  MANIFEST,
  TREES,
  PACK_V1_HEX,
  packBlobs,
  xorshiftBytes,
} from '../packages/core/test/vector-inputs.js';

const dir = new URL('../docs/test-vectors/', import.meta.url);
const write = (name: string, value: unknown): void =>
  writeFileSync(new URL(name, dir), `${JSON.stringify(value, null, 2)}\n`);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const { json } = await createKeyringWith(KEYRING_INPUT.passphrase, {
  ...KEYRING_INPUT,
  chunker: DEFAULT_CHUNKER_PARAMS,
});
write('keyring.json', {
  description:
    'Keyring of format.md §3 from fixed material; inputs in packages/core/test/vector-inputs.ts',
  passphrase: KEYRING_INPUT.passphrase,
  masterKeysHex: KEYRING_INPUT.masterKeys.toString('hex'),
  keyring: JSON.stringify(json),
});

const joinKeys: MasterKeys = {
  keyringId: JOIN_INPUT.keyringId,
  encryptionKey: JOIN_INPUT.masterKeys.subarray(0, 32),
  idKey: JOIN_INPUT.masterKeys.subarray(32, 64),
  chunker: DEFAULT_CHUNKER_PARAMS,
};
const joinKey = deriveJoinKey(joinKeys);
write('join-key.json', {
  description:
    "Keyring join key of format.md §3.2 from the keyring vector's master keys, and a join signature",
  masterKeysHex: JOIN_INPUT.masterKeys.toString('hex'),
  info: 'coffer-keyring-join-v1',
  seedHex: joinKeySeed(joinKeys).toString('hex'),
  publicKeyHex: joinKey.publicKey.toString('hex'),
  vaultId: JOIN_INPUT.vaultId,
  keyringId: JOIN_INPUT.keyringId,
  secret: JOIN_INPUT.secret,
  message: joinMessage(JOIN_INPUT.vaultId, JOIN_INPUT.keyringId, JOIN_INPUT.secret).toString(
    'utf8',
  ),
  signatureHex: signJoin(
    joinKey,
    JOIN_INPUT.vaultId,
    JOIN_INPUT.keyringId,
    JOIN_INPUT.secret,
  ).toString('hex'),
});

write('blob.json', {
  description:
    'Blobs of format.md §4. Compressed bodies may differ between zstd versions; readers must open them.',
  encryptionKeyHex: BLOB_KEYS.encryptionKey.toString('hex'),
  idKeyHex: BLOB_KEYS.idKey.toString('hex'),
  cases: BLOB_CASES.map((c) => {
    const id = blobId(BLOB_KEYS.idKey, c.plaintext);
    const sealed = sealBlob(BLOB_KEYS, c.type, id, c.plaintext, {
      nonce: c.nonce,
      compress: c.compress,
    });
    return {
      name: c.name,
      type: c.type,
      plaintextHex: c.plaintext.toString('hex'),
      idHex: id.toString('hex'),
      sealedHex: sealed.toString('hex'),
      compression: sealed[2],
    };
  }),
});

const gear = gearTable(CHUNKER_INPUT.idKey);
const data = xorshiftBytes(CHUNKER_INPUT.seed, CHUNKER_INPUT.length);
const small: ChunkerParams = { name: 'fastcdc-gear32-v1', min: 4096, avg: 16384, max: 65536 };
const chunkList = (params: ChunkerParams): { length: number; sha256: string }[] => {
  const c = new StreamChunker(gear, params);
  return [...c.push(data), ...c.finish()].map((x) => ({ length: x.length, sha256: sha(x) }));
};
write('chunker.json', {
  description:
    'fastcdc-gear32-v1 of format.md §8 over a xorshift32 stream (low byte of each step after x ^= x<<13; x ^= x>>>17; x ^= x<<5)',
  idKeyHex: CHUNKER_INPUT.idKey.toString('hex'),
  gearFirst8: [...gear.subarray(0, 8)].map((v) => (v >>> 0).toString(16).padStart(8, '0')),
  seed: CHUNKER_INPUT.seed,
  length: CHUNKER_INPUT.length,
  inputSha256: sha(data),
  small: { params: small, chunks: chunkList(small) },
  medium: (() => {
    const params: ChunkerParams = {
      name: 'fastcdc-gear32-v1',
      min: 128 * 1024,
      avg: 256 * 1024,
      max: 1024 * 1024,
    };
    return { params, chunks: chunkList(params) };
  })(),
});

write('tree.json', {
  description: 'Trees of format.md §6; entries in packages/core/test/vector-inputs.ts',
  trees: TREES.map((t) => ({ name: t.name, encodedHex: encodeTree(t.entries).toString('hex') })),
});
write('manifest.json', {
  description: 'Manifest of format.md §7; fields in packages/core/test/vector-inputs.ts',
  encodedHex: encodeManifest(MANIFEST).toString('hex'),
});

const writer = new PackWriter();
for (const b of packBlobs()) writer.add(b.id, b.type, b.sealed, b.refs);
const pack = writer.finish();
const packBytes = Buffer.concat(pack.bytes);
write('pack.json', {
  description:
    'A pack of format.md §5 holding three fabricated blobs (see packBlobs in vector-inputs.ts)',
  name: pack.name,
  packHex: packBytes.toString('hex'),
  v1: {
    description: 'The same blobs in a version 1 pack, which readers still take',
    name: sha(Buffer.from(PACK_V1_HEX, 'hex')),
    packHex: PACK_V1_HEX,
  },
});
write('item-sources.json', {
  description:
    'Item sources of format.md §12, sealed with the keys of blob.json; inputs in vector-inputs.ts',
  item: ITEM_SOURCES.item,
  sources: ITEM_SOURCES.sources,
  nonceHex: ITEM_SOURCES.nonce.toString('hex'),
  sealed: sealSources(BLOB_KEYS, ITEM_SOURCES.item, ITEM_SOURCES.sources, {
    nonce: ITEM_SOURCES.nonce,
  }),
});
console.log('wrote docs/test-vectors');
