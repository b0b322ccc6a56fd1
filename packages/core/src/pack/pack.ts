/**
 * @module pack/pack
 * Packs (docs/format.md §5): sealed blobs followed by a plaintext footer that lists them, named
 * by the SHA-256 of all their bytes. A pack can be read from its bytes alone.
 */
import { createHash, type Hash } from 'node:crypto';
import { FormatError, IntegrityError } from '../errors.js';
import { ByteReader, ByteWriter } from '../encoding/varint.js';
import { ID_LENGTH, isBlobType, type BlobType } from '../ids.js';

export const PACK_TARGET_SIZE = 16 * 1024 * 1024;
export const PACK_MAX_SIZE = 64 * 1024 * 1024;
export const PACK_TRAILER_LENGTH = 24;
const FOOTER_MAGIC = Buffer.from('CFPF');
const TRAILER_MAGIC = Buffer.from('CFPK');
/** The footer version written; readers take 1 and 2 (docs/format.md §5). */
const PACK_VERSION = 2;
const LIMITS = {
  footer: 64 * 1024 * 1024,
  blobs: 1_048_576,
  refs: 16_777_216,
  pack: 4 * 1024 ** 3,
};

export interface PackEntry {
  id: Buffer;
  type: BlobType;
  offset: number;
  length: number;
  refs: Buffer[];
}

export interface FinishedPack {
  /** Lowercase hex SHA-256 of the pack's bytes. */
  name: string;
  /** The pack's bytes, in order: its blobs (one buffer), its footer, its trailer. */
  bytes: Buffer[];
  size: number;
  entries: PackEntry[];
}

/** Encodes the footer (version 2) that lists `entries`. */
export function encodePackFooter(entries: readonly PackEntry[]): Buffer {
  const w = new ByteWriter(64 + entries.length * 48)
    .raw(FOOTER_MAGIC)
    .u8(PACK_VERSION)
    .uvarint(entries.length);
  // Where each id first appears, for refs to blobs earlier in this pack: a tree's files and
  // subtrees are usually packed just before it, so a ref is a byte, not 32.
  const earlier = new Map<string, number>();
  entries.forEach((e, i) => {
    w.raw(e.id).u8(e.type).uvarint(e.offset).uvarint(e.length).uvarint(e.refs.length);
    for (const ref of e.refs) {
      const at = earlier.get(ref.toString('latin1'));
      if (at === undefined) w.uvarint(0).raw(ref);
      else w.uvarint(i - at);
    }
    const key = e.id.toString('latin1');
    if (!earlier.has(key)) earlier.set(key, i);
  });
  return w.finish();
}

function trailer(footer: Buffer): Buffer {
  const t = Buffer.alloc(PACK_TRAILER_LENGTH);
  createHash('sha256').update(footer).digest().copy(t, 0, 0, 16);
  t.writeUInt32LE(footer.length, 16);
  TRAILER_MAGIC.copy(t, 20);
  return t;
}

/** Most finished packs' memory a writer keeps for later packs (see `recycle`). */
const SPARE_BUFFERS = 4;

/**
 * Accumulates sealed blobs into a pack; the hash is computed as blobs arrive. Blobs are copied
 * into one buffer, which a later pack reuses once the caller is done with this one (`recycle`):
 * kept as the separate buffers they came in, a backup's packs in flight were thousands of small
 * allocations each, freed only when the garbage collector got to them, long after the upload.
 */
export class PackWriter {
  private readonly targetSize: number;
  private buffer: Buffer | undefined;
  private readonly spare: Buffer[] = [];
  private entries: PackEntry[] = [];
  private offset = 0;
  private hash: Hash = createHash('sha256');

  constructor(options: { targetSize?: number } = {}) {
    this.targetSize = options.targetSize ?? PACK_TARGET_SIZE;
  }

  /** Adds a sealed blob; `refs` only for trees and manifests. */
  add(id: Buffer, type: BlobType, sealed: Uint8Array, refs: readonly Buffer[] = []): void {
    if (id.length !== ID_LENGTH) throw new FormatError('pack', 'blob ids are 32 bytes');
    if (type === 1 && refs.length > 0) throw new FormatError('pack', 'data blobs have no refs');
    this.hash.update(sealed);
    this.room(sealed.length).set(sealed, this.offset);
    // The entry keeps copies: callers pass views into larger buffers (a parent tree's
    // plaintext, a thread's reply), and an entry waits until its pack is full. A backup of
    // 300,000 files that changed 1% kept about 20 MB of parent trees alive through its trees'
    // refs this way.
    const copy = Buffer.allocUnsafe(ID_LENGTH * (1 + refs.length));
    copy.set(id);
    const kept: Buffer[] = new Array<Buffer>(refs.length);
    for (let i = 0; i < refs.length; i++) {
      copy.set(refs[i]!, ID_LENGTH * (i + 1));
      kept[i] = copy.subarray(ID_LENGTH * (i + 1), ID_LENGTH * (i + 2));
    }
    this.entries.push({
      id: copy.subarray(0, ID_LENGTH),
      type,
      offset: this.offset,
      length: sealed.length,
      refs: kept,
    });
    this.offset += sealed.length;
  }

  /** The buffer of blobs, with room for `length` more bytes. */
  private room(length: number): Buffer {
    const needed = this.offset + length;
    if (this.buffer && needed <= this.buffer.length) return this.buffer;
    // A pack passes its target by at most one blob: a quarter more holds most such blobs, and
    // pages never written take no memory.
    const size = this.buffer
      ? Math.max(needed, 2 * this.buffer.length)
      : Math.max(needed, Math.ceil(Math.min(this.targetSize, PACK_TARGET_SIZE) * 1.25));
    const at = this.buffer ? -1 : this.spare.findIndex((b) => b.length >= needed);
    const bigger = at >= 0 ? this.spare.splice(at, 1)[0]! : Buffer.allocUnsafeSlow(size);
    this.buffer?.copy(bigger, 0, 0, this.offset);
    this.buffer = bigger;
    return bigger;
  }

  /** Bytes of blobs added so far. */
  get size(): number {
    return this.offset;
  }

  /** Blobs added so far. */
  get count(): number {
    return this.entries.length;
  }

  /** True once the pack reached its target size. */
  get full(): boolean {
    return this.offset >= this.targetSize;
  }

  /** Finishes the pack and resets the writer. */
  finish(): FinishedPack {
    if (this.entries.length === 0) throw new FormatError('pack', 'a pack holds at least one blob');
    const footer = encodePackFooter(this.entries);
    const tail = trailer(footer);
    this.hash.update(footer);
    this.hash.update(tail);
    const pack: FinishedPack = {
      name: this.hash.digest('hex'),
      bytes: [this.buffer!.subarray(0, this.offset), footer, tail],
      size: this.offset + footer.length + tail.length,
      entries: this.entries,
    };
    this.buffer = undefined;
    this.entries = [];
    this.offset = 0;
    this.hash = createHash('sha256');
    return pack;
  }

  /**
   * Takes back the memory of a pack this writer finished, for a later pack to fill: call it once
   * nothing reads `pack.bytes` any more.
   */
  recycle(pack: FinishedPack): void {
    const memory = pack.bytes[0]!.buffer;
    if (this.spare.length >= SPARE_BUFFERS || this.spare.some((b) => b.buffer === memory)) return;
    this.spare.push(Buffer.from(memory));
  }
}

/** Reads the trailer from the last bytes of a pack of `packSize` bytes. */
export function readPackTrailer(
  tail: Uint8Array,
  packSize: number,
): { footerLength: number; footerHash: Buffer } {
  if (tail.length < PACK_TRAILER_LENGTH || packSize < PACK_TRAILER_LENGTH) {
    throw new FormatError('pack', 'too short for a trailer');
  }
  const t = tail.subarray(tail.length - PACK_TRAILER_LENGTH);
  if (!Buffer.from(t.subarray(20)).equals(TRAILER_MAGIC))
    throw new FormatError('pack', 'bad trailer magic');
  const footerLength = new ByteReader(t, 'pack trailer', 16).u32le();
  if (footerLength > LIMITS.footer || footerLength + PACK_TRAILER_LENGTH > packSize) {
    throw new FormatError('pack', `footer length ${footerLength} does not fit`);
  }
  return { footerLength, footerHash: Buffer.from(t.subarray(0, 16)) };
}

/**
 * One entry of a footer as {@link scanPackFooter} reports it: where its id and refs lie in the
 * footer, without copies. The object and its arrays are reused for the next entry.
 */
export interface FooterEntryView {
  /** The entry's position in the footer. */
  index: number;
  type: BlobType;
  offset: number;
  length: number;
  /** Where the entry's 32-byte id starts in the footer. */
  idAt: number;
  /** Where each ref's 32 bytes start in the footer: its own bytes, or an earlier entry's id. */
  refsAt: number[];
  /** For each ref, the index of the earlier entry it names (version 2), or -1. */
  refsBack: number[];
}

/**
 * Checks a footer against its hash and the pack's size, and calls `visit` with each entry in
 * order. Copies nothing: a reader that keeps only some entries (the vault's closure walk wants
 * the trees of a pack of thousands of files) allocates nothing for the others.
 */
export function scanPackFooter(
  footer: Uint8Array,
  footerHash: Buffer,
  packSize: number,
  visit: (entry: FooterEntryView) => void,
): void {
  const digest = createHash('sha256').update(footer).digest().subarray(0, 16);
  if (!digest.equals(footerHash))
    throw new IntegrityError('pack footer: hash mismatch (damaged footer)');
  const r = new ByteReader(footer, 'pack footer');
  if (!Buffer.from(r.raw(4)).equals(FOOTER_MAGIC)) r.fail('bad footer magic');
  const version = r.u8();
  if (version !== 1 && version !== 2)
    r.fail(`version ${version} is not supported (this program reads versions 1 and 2)`);
  // Version 1 lists every ref as its id; version 2 as the distance back to an earlier entry of
  // this pack, or 0 and the id.
  const minRefBytes = version === 1 ? ID_LENGTH : 1;
  const n = r.uvarint();
  if (n < 1 || n > LIMITS.blobs || n * (ID_LENGTH + 4) > r.remaining) r.fail(`${n} blobs`);
  const blobsEnd = packSize - footer.length - PACK_TRAILER_LENGTH;
  const idsAt = new Uint32Array(n);
  const view: FooterEntryView = {
    index: 0,
    type: 1,
    offset: 0,
    length: 0,
    idAt: 0,
    refsAt: [],
    refsBack: [],
  };
  let expected = 0;
  for (let i = 0; i < n; i++) {
    const idAt = r.pass(ID_LENGTH);
    idsAt[i] = idAt;
    const type = r.u8();
    if (!isBlobType(type)) r.fail(`unknown blob type ${type}`);
    const offset = r.uvarint();
    const length = r.uvarint();
    const refCount = r.uvarint();
    if (refCount > LIMITS.refs || refCount * minRefBytes > r.remaining) r.fail(`${refCount} refs`);
    if (type === 1 && refCount > 0) r.fail('a data blob with refs');
    if (offset !== expected) r.fail(`blob ${i} at offset ${offset}, expected ${expected}`);
    if (length < 32) r.fail(`blob ${i} of ${length} bytes`);
    expected = offset + length;
    if (expected > blobsEnd) r.fail(`blob ${i} runs past the footer`);
    view.refsAt.length = refCount;
    view.refsBack.length = refCount;
    for (let j = 0; j < refCount; j++) {
      const back = version === 1 ? 0 : r.uvarint();
      if (back === 0) {
        view.refsAt[j] = r.pass(ID_LENGTH);
        view.refsBack[j] = -1;
      } else if (back > i) r.fail(`blob ${i}: a ref ${back} entries back`);
      else {
        view.refsAt[j] = idsAt[i - back]!;
        view.refsBack[j] = i - back;
      }
    }
    view.index = i;
    view.type = type as BlobType;
    view.offset = offset;
    view.length = length;
    view.idAt = idAt;
    visit(view);
  }
  if (r.remaining !== 0) r.fail('trailing bytes in the footer');
  if (expected !== blobsEnd) r.fail(`blobs end at ${expected}, the footer starts at ${blobsEnd}`);
}

/** Parses and checks a footer against its hash and the pack's size. */
export function parsePackFooter(
  footer: Uint8Array,
  footerHash: Buffer,
  packSize: number,
): PackEntry[] {
  const entries: PackEntry[] = [];
  scanPackFooter(footer, footerHash, packSize, (e) => {
    const refs: Buffer[] = new Array<Buffer>(e.refsAt.length);
    for (let j = 0; j < refs.length; j++) {
      const back = e.refsBack[j]!;
      refs[j] = back >= 0 ? entries[back]!.id : copyId(footer, e.refsAt[j]!);
    }
    entries.push({
      id: copyId(footer, e.idAt),
      type: e.type,
      offset: e.offset,
      length: e.length,
      refs,
    });
  });
  return entries;
}

function copyId(footer: Uint8Array, at: number): Buffer {
  return Buffer.from(footer.subarray(at, at + ID_LENGTH));
}

/**
 * Checks the first two bytes of a blob (version, type) against its footer entry, so that the
 * vault, which cannot open blobs, never indexes a blob under another type than it has.
 */
export function checkBlobHeader(
  header: Uint8Array,
  entry: Pick<PackEntry, 'offset' | 'type'>,
): void {
  if (header[0] !== 1)
    throw new FormatError('pack', `blob at ${entry.offset}: version ${header[0]}`);
  if (header[1] !== entry.type)
    throw new FormatError(
      'pack',
      `blob at ${entry.offset}: its header says type ${header[1]}, the footer ${entry.type}`,
    );
}

/** Parses a whole pack from its bytes; checks each blob's header against its entry. */
export function parsePack(pack: Uint8Array): { entries: PackEntry[]; name: string } {
  if (pack.length > LIMITS.pack) throw new FormatError('pack', 'larger than 4 GiB');
  const { footerLength, footerHash } = readPackTrailer(pack, pack.length);
  const footerStart = pack.length - PACK_TRAILER_LENGTH - footerLength;
  const entries = parsePackFooter(
    pack.subarray(footerStart, footerStart + footerLength),
    footerHash,
    pack.length,
  );
  for (const e of entries) checkBlobHeader(pack.subarray(e.offset, e.offset + 2), e);
  return { entries, name: createHash('sha256').update(pack).digest('hex') };
}

/** The sealed bytes of one blob of a pack. */
export function sliceBlob(pack: Uint8Array, entry: PackEntry): Buffer {
  if (entry.offset + entry.length > pack.length)
    throw new FormatError('pack', 'blob beyond the pack');
  return Buffer.from(pack.buffer, pack.byteOffset + entry.offset, entry.length);
}

/** What {@link PackVerifier.finish} found. */
export interface VerifiedPack {
  name: string;
  size: number;
  /** How many blobs its footer lists. */
  blobs: number;
  /**
   * Blobs whose header lay before the kept tail (only in packs over 64 MiB): the caller checks
   * them with {@link checkBlobHeader} on the stored bytes.
   */
  headersUnchecked: Pick<PackEntry, 'offset' | 'type'>[];
}

/**
 * Checks a pack as it streams past: hashes every byte and keeps only a bounded tail (the footer
 * is at most 64 MiB), then parses the footer at the end and checks each blob header in the
 * tail against its entry, as {@link parsePack} does for a whole pack.
 */
export class PackVerifier {
  private readonly hash = createHash('sha256');
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private size = 0;
  private static readonly KEEP = LIMITS.footer + PACK_TRAILER_LENGTH;

  /** Feeds the next bytes; the caller must not change them afterwards (they are not copied). */
  update(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.hash.update(chunk);
    this.size += chunk.length;
    if (this.size > LIMITS.pack) throw new FormatError('pack', 'larger than 4 GiB');
    this.tail.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.tailBytes += chunk.length;
    while (this.tail.length > 1 && this.tailBytes - this.tail[0]!.length >= PackVerifier.KEEP) {
      this.tailBytes -= this.tail.shift()!.length;
    }
  }

  /** Parses the footer and checks the headers; with `expectedName`, checks the pack's name. */
  finish(expectedName?: string): VerifiedPack {
    const name = this.hash.digest('hex');
    if (expectedName !== undefined && name !== expectedName) {
      throw new IntegrityError(`pack ${expectedName}: its bytes hash to ${name}`, {
        subject: expectedName,
      });
    }
    // Only the trailer and the footer are assembled, not the kept tail as a whole.
    const last = (n: number): Buffer => {
      const parts: Buffer[] = [];
      let need = Math.min(n, this.tailBytes);
      for (let i = this.tail.length - 1; i >= 0 && need > 0; i--) {
        const part = this.tail[i]!;
        const take = Math.min(need, part.length);
        parts.unshift(part.subarray(part.length - take));
        need -= take;
      }
      return Buffer.concat(parts);
    };
    const { footerLength, footerHash } = readPackTrailer(last(PACK_TRAILER_LENGTH), this.size);
    const tail = last(footerLength + PACK_TRAILER_LENGTH);
    if (footerLength + PACK_TRAILER_LENGTH > tail.length)
      throw new FormatError('pack', 'footer not in the kept tail');
    const headersUnchecked: Pick<PackEntry, 'offset' | 'type'>[] = [];
    const kept = this.tail;
    const keptStart = this.size - this.tailBytes;
    let part = 0;
    let partStart = keptStart;
    let blobs = 0;
    // Scanned, not parsed: the vault indexes the pack later from its stored footer, so an
    // object per blob here would only be garbage.
    scanPackFooter(tail.subarray(0, footerLength), footerHash, this.size, (e) => {
      blobs++;
      if (e.offset < keptStart) {
        headersUnchecked.push({ offset: e.offset, type: e.type });
        return;
      }
      // Entries are in offset order, so one forward pass over the kept parts finds them all.
      while (e.offset >= partStart + kept[part]!.length) partStart += kept[part++]!.length;
      const at = e.offset - partStart;
      const first = kept[part]!;
      // A header may straddle two parts; the blob is at least 32 bytes, so both bytes exist.
      const header =
        at + 1 < first.length
          ? first.subarray(at, at + 2)
          : Buffer.from([first[at]!, kept[part + 1]![0]!]);
      checkBlobHeader(header, e);
    });
    this.tail = [];
    return { name, size: this.size, blobs, headersUnchecked };
  }
}

/** Verifies a pack from a stream of its bytes. */
export async function verifyPackStream(
  source: AsyncIterable<Uint8Array>,
  expectedName?: string,
): Promise<VerifiedPack> {
  const verifier = new PackVerifier();
  for await (const chunk of source) verifier.update(chunk);
  return verifier.finish(expectedName);
}
