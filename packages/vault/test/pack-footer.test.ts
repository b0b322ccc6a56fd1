import { BlobType, PackWriter } from '@coffer/core';
import { MemoryBlobStore } from '@coffer/storage';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FooterRefs } from '../src/pack-footer.js';
import { packKey } from '../src/pack-keys.js';

const id = (name: string): Buffer => createHash('sha256').update(name).digest();
const sealed = (type: BlobType): Buffer =>
  Buffer.concat([Buffer.from([1, type]), Buffer.alloc(62)]);

describe('FooterRefs', () => {
  it('reads the refs of the rows asked for, by offset and id, and names packs it cannot read', async () => {
    const store = new MemoryBlobStore();
    const writer = new PackWriter();
    writer.add(id('d1'), BlobType.data, sealed(BlobType.data));
    writer.add(id('d2'), BlobType.data, sealed(BlobType.data));
    // A ref back within the pack (d1, d2) and one written out (elsewhere).
    writer.add(id('t'), BlobType.tree, sealed(BlobType.tree), [id('d1'), id('d2'), id('x')]);
    writer.add(id('m'), BlobType.manifest, sealed(BlobType.manifest), [id('t')]);
    const pack = writer.finish();
    await store.put(packKey('kr', pack.name), Buffer.concat(pack.bytes));
    const [, , tree, manifest] = pack.entries;
    const row = (name: string, offset: number, packName = pack.name) => ({
      id: id(name).toString('hex'),
      pack: packName,
      packSize: pack.size,
      offset,
    });
    const footers = new FooterRefs(store, 'kr');
    const found = await footers.read([row('t', tree!.offset), row('m', manifest!.offset)]);
    expect(found.unreadable).toEqual(new Map());
    expect(found.refs.get(id('t').toString('hex'))).toEqual(
      Buffer.concat([id('d1'), id('d2'), id('x')]),
    );
    expect(found.refs.get(id('m').toString('hex'))).toEqual(id('t'));
    // A row the footer does not list where the row says: the footer cannot vouch for it.
    const wrong = await footers.read([row('t', manifest!.offset)]);
    expect(wrong.refs.size).toBe(0);
    expect(wrong.unreadable).toEqual(new Map([[pack.name, 'damaged']]));
    // A footer read before is not fetched again within the walk; an unknown pack is missing.
    await store.delete(packKey('kr', pack.name));
    expect((await footers.read([row('t', tree!.offset)])).refs.size).toBe(1);
    const gone = await new FooterRefs(store, 'kr').read([row('t', tree!.offset)]);
    expect(gone.unreadable).toEqual(new Map([[pack.name, 'missing']]));
  });
});
