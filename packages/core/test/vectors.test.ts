import {
  createCipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  scryptSync,
  verify,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CHUNKER_PARAMS,
  PackWriter,
  StreamChunker,
  blobId,
  createKeyringWith,
  decodeManifest,
  deriveJoinKey,
  decodeTree,
  encodeManifest,
  encodeTree,
  gearTable,
  openBlob,
  openKeyring,
  openSources,
  parsePack,
  parsePackFooter,
  sealBlob,
  sealSources,
  signJoin,
  verifyJoin,
  type ChunkerParams,
} from '../src/index.js';
import {
  BLOB_CASES,
  BLOB_KEYS,
  CHUNKER_INPUT,
  ITEM_SOURCES,
  JOIN_INPUT,
  KEYRING_INPUT,
  MANIFEST,
  TREES,
  packBlobs,
  xorshiftBytes,
} from './vector-inputs.js';

function vector<T>(name: string): T {
  return JSON.parse(
    readFileSync(new URL(`../../../docs/test-vectors/${name}`, import.meta.url), 'utf8'),
  ) as T;
}
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('test vectors (docs/test-vectors)', () => {
  it('keyring: recomputed byte for byte, and checked with raw scrypt and AES-GCM', async () => {
    const v = vector<{ keyring: string; masterKeysHex: string; passphrase: string }>(
      'keyring.json',
    );
    const { json } = await createKeyringWith(v.passphrase, {
      ...KEYRING_INPUT,
      chunker: DEFAULT_CHUNKER_PARAMS,
    });
    expect(JSON.stringify(json)).toBe(v.keyring);
    // Independent check of §3: scrypt, then AES-GCM with aad "coffer-keyring-v1:" || id.
    const wrapKey = scryptSync(Buffer.from(v.passphrase.normalize('NFC')), KEYRING_INPUT.salt, 32, {
      N: 1024,
      r: 8,
      p: 1,
    });
    const cipher = createCipheriv('aes-256-gcm', wrapKey, KEYRING_INPUT.nonce);
    cipher.setAAD(Buffer.from(`coffer-keyring-v1:${KEYRING_INPUT.id}`));
    const sealed = Buffer.concat([
      cipher.update(Buffer.from(v.masterKeysHex, 'hex')),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    expect((JSON.parse(v.keyring) as { wrap: { sealed: string } }).wrap.sealed).toBe(
      sealed.toString('base64'),
    );
    const keys = await openKeyring(v.keyring, v.passphrase);
    expect(Buffer.concat([keys.encryptionKey, keys.idKey]).toString('hex')).toBe(v.masterKeysHex);
  });

  it('join key: seed by hand-made HKDF, public key and signature recomputed and verified', () => {
    const v = vector<{
      masterKeysHex: string;
      info: string;
      seedHex: string;
      publicKeyHex: string;
      vaultId: string;
      keyringId: string;
      secret: string;
      message: string;
      signatureHex: string;
    }>('join-key.json');
    const master = Buffer.from(v.masterKeysHex, 'hex');
    expect(master.equals(JOIN_INPUT.masterKeys)).toBe(true);
    // Independent check of §3.2: HKDF-SHA256 extract (zero salt) and one expand block.
    const prk = createHmac('sha256', Buffer.alloc(32)).update(master).digest();
    const seed = createHmac('sha256', prk)
      .update(Buffer.concat([Buffer.from(v.info), Buffer.from([1])]))
      .digest();
    expect(seed.toString('hex')).toBe(v.seedHex);
    const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
    const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
    expect(spki.subarray(12).toString('hex')).toBe(v.publicKeyHex);
    const secretHash = createHash('sha256').update(v.secret).digest('hex');
    expect(v.message).toBe(`${v.info}\n${v.vaultId}\n${v.keyringId}\n${secretHash}`);
    const signature = Buffer.from(v.signatureHex, 'hex');
    expect(verify(null, Buffer.from(v.message), createPublicKey(privateKey), signature)).toBe(true);
    // The implementation gives the same key and (deterministic Ed25519) signature.
    const key = deriveJoinKey({
      keyringId: v.keyringId,
      encryptionKey: master.subarray(0, 32),
      idKey: master.subarray(32),
      chunker: DEFAULT_CHUNKER_PARAMS,
    });
    expect(key.publicKey.toString('hex')).toBe(v.publicKeyHex);
    expect(signJoin(key, v.vaultId, v.keyringId, v.secret).toString('hex')).toBe(v.signatureHex);
    const pub = Buffer.from(v.publicKeyHex, 'hex');
    expect(verifyJoin(pub, signature, v.vaultId, v.keyringId, v.secret)).toBe(true);
    expect(verifyJoin(pub, signature, v.vaultId, v.keyringId, `${v.secret}x`)).toBe(false);
    expect(verifyJoin(pub, signature, 'vt_ffffffffffffffff', v.keyringId, v.secret)).toBe(false);
  });

  it('blob: ids and sealed bytes recomputed; every case opens; one checked with raw crypto', () => {
    const v = vector<{
      cases: {
        name: string;
        idHex: string;
        sealedHex: string;
        plaintextHex: string;
        compression: number;
      }[];
    }>('blob.json');
    expect(v.cases.map((c) => c.name)).toEqual(BLOB_CASES.map((c) => c.name));
    BLOB_CASES.forEach((input, i) => {
      const c = v.cases[i]!;
      const id = blobId(BLOB_KEYS.idKey, input.plaintext);
      expect(id.toString('hex')).toBe(c.idHex);
      expect(createHmac('sha256', BLOB_KEYS.idKey).update(input.plaintext).digest('hex')).toBe(
        c.idHex,
      );
      const opened = openBlob(BLOB_KEYS, input.type, id, Buffer.from(c.sealedHex, 'hex'));
      expect(opened.equals(input.plaintext)).toBe(true);
      const sealed = sealBlob(BLOB_KEYS, input.type, id, input.plaintext, {
        nonce: input.nonce,
        compress: input.compress,
      });
      if (c.compression === 0) expect(sealed.toString('hex')).toBe(c.sealedHex);
      else expect(sealed[2]).toBe(1);
    });
    // §4 by hand for the short blob: header || GCM(body, aad = header || id) || tag.
    const input = BLOB_CASES[1]!;
    const header = Buffer.concat([Buffer.from([1, input.type, 0, 0]), input.nonce]);
    const id = Buffer.from(v.cases[1]!.idHex, 'hex');
    const cipher = createCipheriv('aes-256-gcm', BLOB_KEYS.encryptionKey, input.nonce);
    cipher.setAAD(Buffer.concat([header, id]));
    const manual = Buffer.concat([
      header,
      cipher.update(input.plaintext),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    expect(manual.toString('hex')).toBe(v.cases[1]!.sealedHex);
  });

  it('chunker: gear table from raw HMAC, and the chunk lists of the stream', () => {
    const v = vector<{
      gearFirst8: string[];
      inputSha256: string;
      small: { params: ChunkerParams; chunks: { length: number; sha256: string }[] };
      medium: { params: ChunkerParams; chunks: { length: number; sha256: string }[] };
    }>('chunker.json');
    const gear = gearTable(CHUNKER_INPUT.idKey);
    const first = createHmac('sha256', CHUNKER_INPUT.idKey)
      .update(Buffer.concat([Buffer.from('coffer/chunker/gear/v1'), Buffer.from([0])]))
      .digest();
    expect(
      [0, 1, 2, 3, 4, 5, 6, 7].map((i) =>
        first
          .readUInt32LE(4 * i)
          .toString(16)
          .padStart(8, '0'),
      ),
    ).toEqual(v.gearFirst8);
    expect([...gear.subarray(0, 8)].map((g) => (g >>> 0).toString(16).padStart(8, '0'))).toEqual(
      v.gearFirst8,
    );
    const data = xorshiftBytes(CHUNKER_INPUT.seed, CHUNKER_INPUT.length);
    expect(sha(data)).toBe(v.inputSha256);
    for (const set of [v.small, v.medium]) {
      const chunker = new StreamChunker(gear, set.params);
      const chunks = [...chunker.push(data), ...chunker.finish()];
      expect(chunks.map((c) => ({ length: c.length, sha256: sha(c) }))).toEqual(set.chunks);
    }
  });

  it('tree: encodings recomputed, decoded back, and one entry assembled by hand', () => {
    const v = vector<{ trees: { name: string; encodedHex: string }[] }>('tree.json');
    TREES.forEach((t, i) => {
      const hex = v.trees[i]!.encodedHex;
      expect(encodeTree(t.entries).toString('hex')).toBe(hex);
      expect(encodeTree(decodeTree(Buffer.from(hex, 'hex'))).toString('hex')).toBe(hex);
    });
    // version 1, one entry: name "a" (tag 1), type 3 symlink (tag 2), linkTarget "b" (tag 11).
    const body = Buffer.from([1, 1, 0x61, 2, 1, 3, 11, 1, 0x62]);
    const manual = Buffer.concat([Buffer.from([1, 1, body.length]), body]);
    const [entry] = decodeTree(manual);
    expect(entry!.name.toString()).toBe('a');
    expect(entry!.linkTarget!.toString()).toBe('b');
    expect(encodeTree([entry!]).equals(manual)).toBe(true);
  });

  it('manifest: encoding recomputed and decoded back', () => {
    const v = vector<{ encodedHex: string }>('manifest.json');
    expect(encodeManifest(MANIFEST).toString('hex')).toBe(v.encodedHex);
    expect(decodeManifest(Buffer.from(v.encodedHex, 'hex'))).toEqual(MANIFEST);
  });

  it('pack: bytes and name recomputed; footer checked against a hand-assembled one', () => {
    const v = vector<{ name: string; packHex: string; v1: { name: string; packHex: string } }>(
      'pack.json',
    );
    const writer = new PackWriter();
    const blobs = packBlobs();
    for (const b of blobs) writer.add(b.id, b.type, b.sealed, b.refs);
    const pack = writer.finish();
    const bytes = Buffer.concat(pack.bytes);
    expect(bytes.toString('hex')).toBe(v.packHex);
    expect(pack.name).toBe(v.name);
    expect(sha(bytes)).toBe(v.name);
    // §5 by hand: "CFPF" 2 n, then id type offset length refCount refs for each blob; a ref to
    // an earlier blob of the pack is its distance back, any other is 0 and the id.
    const parts: Buffer[] = [Buffer.from('CFPF'), Buffer.from([2, 3])];
    let offset = 0;
    for (const [i, b] of blobs.entries()) {
      parts.push(b.id, Buffer.from([b.type, offset, b.sealed.length, b.refs.length]));
      for (const ref of b.refs) {
        const at = blobs.findIndex((x) => x.id.equals(ref));
        parts.push(
          at >= 0 && at < i ? Buffer.from([i - at]) : Buffer.concat([Buffer.from([0]), ref]),
        );
      }
      offset += b.sealed.length;
    }
    const footer = Buffer.concat(parts);
    const trailer = Buffer.concat([
      createHash('sha256').update(footer).digest().subarray(0, 16),
      Buffer.from([footer.length, 0, 0, 0]),
      Buffer.from('CFPK'),
    ]);
    expect(bytes.subarray(offset).equals(Buffer.concat([footer, trailer]))).toBe(true);
    const parsed = parsePack(bytes);
    expect(parsed.name).toBe(v.name);
    expect(parsed.entries.map((e) => e.refs)).toEqual(blobs.map((b) => b.refs));
    // Version 1 (every ref as its id) still reads, to the same entries.
    const old = parsePack(Buffer.from(v.v1.packHex, 'hex'));
    expect(old.name).toBe(v.v1.name);
    expect(old.entries).toEqual(parsed.entries);
    // A ref further back than the first entry is refused, with a typed error.
    const hostile = Buffer.from(footer);
    const refAt = hostile.indexOf(Buffer.concat([blobs[1]!.id, Buffer.from([2])])) + 36;
    expect(hostile[refAt]).toBe(1);
    hostile[refAt] = 2;
    const hash = createHash('sha256').update(hostile).digest().subarray(0, 16);
    expect(() => parsePackFooter(hostile, hash, bytes.length)).toThrow(
      /blob 1: a ref 2 entries back/,
    );
  });

  it('item sources: sealed bytes recomputed, opened back, checked with raw AES-GCM', () => {
    const v = vector<{ item: string; sealed: string; sources: unknown }>('item-sources.json');
    const sealed = sealSources(BLOB_KEYS, ITEM_SOURCES.item, ITEM_SOURCES.sources, {
      nonce: ITEM_SOURCES.nonce,
    });
    expect(sealed).toBe(v.sealed);
    expect(openSources(BLOB_KEYS, v.item, v.sealed)).toEqual(v.sources);
    // §12 by hand: id || blob(version 1, type 1, no compression, nonce, AES-GCM(plaintext)).
    const plaintext = Buffer.from(
      `coffer-item-sources-v1\n${JSON.stringify({ item: v.item, ...ITEM_SOURCES.sources })}`,
    );
    const id = blobId(BLOB_KEYS.idKey, plaintext);
    const header = Buffer.concat([Buffer.from([1, 1, 0, 0]), ITEM_SOURCES.nonce]);
    const cipher = createCipheriv('aes-256-gcm', BLOB_KEYS.encryptionKey, ITEM_SOURCES.nonce);
    cipher.setAAD(Buffer.concat([header, id]));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    expect(Buffer.concat([id, header, body]).toString('base64')).toBe(v.sealed);
    expect(() => openSources(BLOB_KEYS, 'another item', v.sealed)).toThrow(/sealed for item/);
  });
});
