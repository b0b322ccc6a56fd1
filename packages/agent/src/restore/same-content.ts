/**
 * @module restore/same-content
 * Whether a file already in a restore's way holds exactly what the point has there, so that
 * keep-both does not make a copy of it: same size, then the same keyed ids chunk by chunk
 * (the file is chunked as a backup would chunk it, and read once, in bounded memory).
 */
import { blobId, chunkStream, gearTable, type MasterKeys, type TreeEntry } from '@coffer/core';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** Compares files in the way with the entries a restore would put there. */
export class ContentComparer {
  private readonly gear: Int32Array;

  constructor(private readonly keys: MasterKeys) {
    this.gear = gearTable(keys.idKey);
  }

  /** True when the regular file at `path` holds exactly `entry`'s content. */
  async same(path: Buffer, entry: TreeEntry): Promise<boolean> {
    const refs = entry.content ?? [];
    const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch(
      () => undefined,
    );
    if (!handle) return false;
    try {
      const st = await handle.stat();
      if (!st.isFile() || st.size !== entry.size) return false;
      let index = 0;
      const stream = handle.createReadStream({ autoClose: false, highWaterMark: 1024 * 1024 });
      for await (const chunk of chunkStream(stream, this.gear, this.keys.chunker)) {
        const ref = refs[index++];
        if (!ref || ref.length !== chunk.length || !blobId(this.keys.idKey, chunk).equals(ref.id)) {
          stream.destroy();
          return false;
        }
      }
      return index === refs.length;
    } finally {
      await handle.close();
    }
  }
}
