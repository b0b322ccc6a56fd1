/**
 * The benchmark's deterministic dataset: source-tree-like small files, medium files, large
 * incompressible files, compressible logs and a sparse disk image; and the ~1% mutation.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdir, open, readFile, rm, stat, utimes, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Sizes of one dataset; `default` is about 2 GB of data (plus the sparse image's holes). */
export interface DatasetShape {
  srcDirs: number;
  filesPerDir: number;
  medium: number;
  large: number;
  largeMiB: number;
  logs: number;
  logMiB: number;
  sparseMiB: number;
  sparseDataMiB: number;
}

export const SHAPES: Record<'small' | 'default', DatasetShape> = {
  small: {
    srcDirs: 60,
    filesPerDir: 25,
    medium: 20,
    large: 1,
    largeMiB: 64,
    logs: 2,
    logMiB: 16,
    sparseMiB: 128,
    sparseDataMiB: 32,
  },
  default: {
    srcDirs: 400,
    filesPerDir: 25,
    medium: 160,
    large: 3,
    largeMiB: 256,
    logs: 4,
    logMiB: 64,
    sparseMiB: 1024,
    sparseDataMiB: 300,
  },
};

/** A small seeded PRNG (xorshift32): the dataset depends on the seed only. */
export class Prng {
  constructor(private x: number) {}
  next(): number {
    let x = this.x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.x = x >>> 0;
    return this.x;
  }
  int(n: number): number {
    return this.next() % n;
  }
}

/** Deterministic incompressible bytes: AES-CTR of zeros under a key made from `label`. */
export function noise(label: string, length: number): Buffer {
  const key = createHash('sha256').update(label).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return cipher.update(Buffer.alloc(length));
}

const WORDS =
  'const let return function import export from if else for while await async class new this value error data file path buffer string number'.split(
    ' ',
  );

/** Deterministic text that compresses like source code or logs. */
export function text(prng: Prng, length: number, log = false): Buffer {
  const lines: string[] = [];
  let size = 0;
  while (size < length) {
    const words = Array.from({ length: 3 + prng.int(9) }, () => WORDS[prng.int(WORDS.length)]);
    const line = log
      ? `2026-11-25T03:${String(prng.int(60)).padStart(2, '0')}:${String(prng.int(60)).padStart(2, '0')}.${prng.int(1000)}Z INFO req=${prng.next().toString(16)} ${words.join(' ')} status=${200 + prng.int(4) * 100} ms=${prng.int(900)}\n`
      : `${'  '.repeat(prng.int(4))}${words.join(' ')};\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, length);
}

const MiB = 1024 * 1024;
const FIXED_TIME = new Date('2026-01-01T00:00:00Z');

/** Writes the dataset into `root` (which must not exist). Returns its logical size in bytes. */
export async function buildDataset(root: string, shape: DatasetShape, seed = 42): Promise<number> {
  const prng = new Prng(seed);
  let total = 0;
  const put = async (path: string, data: Buffer): Promise<void> => {
    await writeFile(path, data);
    await utimes(path, FIXED_TIME, FIXED_TIME);
    total += data.length;
  };
  for (let d = 0; d < shape.srcDirs; d++) {
    const dir = join(root, 'src', `module-${d % 20}`, `pkg-${d}`);
    await mkdir(dir, { recursive: true });
    for (let f = 0; f < shape.filesPerDir; f++)
      await put(join(dir, `file-${f}.ts`), text(prng, 2048 + prng.int(18 * 1024)));
  }
  await mkdir(join(root, 'medium'), { recursive: true });
  for (let m = 0; m < shape.medium; m++) {
    const size = MiB + prng.int(4 * MiB);
    await put(
      join(root, 'medium', `doc-${m}.bin`),
      m % 2 === 0 ? noise(`medium-${m}`, size) : text(prng, size),
    );
  }
  await mkdir(join(root, 'large'), { recursive: true });
  for (let l = 0; l < shape.large; l++) {
    const handle = await open(join(root, 'large', `video-${l}.mp4`), 'w');
    for (let i = 0; i < shape.largeMiB; i += 16)
      await handle.write(noise(`large-${l}-${i}`, 16 * MiB));
    await handle.close();
    await utimes(join(root, 'large', `video-${l}.mp4`), FIXED_TIME, FIXED_TIME);
    total += shape.largeMiB * MiB;
  }
  await mkdir(join(root, 'logs'), { recursive: true });
  for (let g = 0; g < shape.logs; g++)
    await put(join(root, 'logs', `app-${g}.log`), text(prng, shape.logMiB * MiB, true));
  await mkdir(join(root, 'vm'), { recursive: true });
  const image = join(root, 'vm', 'disk.img');
  const handle = await open(image, 'w');
  await handle.truncate(shape.sparseMiB * MiB);
  // Data in 4 MiB extents scattered over the image; the rest stays a hole.
  const extents = Math.floor(shape.sparseDataMiB / 4);
  for (let e = 0; e < extents; e++) {
    const slot = Math.floor((e * shape.sparseMiB) / 4 / extents);
    await handle.write(noise(`extent-${e}`, 4 * MiB), 0, 4 * MiB, slot * 4 * MiB);
  }
  await handle.close();
  await utimes(image, FIXED_TIME, FIXED_TIME);
  total += shape.sparseMiB * MiB;
  return total;
}

/** A reversible ~1% change: edits in place, appends, new and deleted files. */
export async function mutate(
  root: string,
  shape: DatasetShape,
  backupDir: string,
  seed = 7,
): Promise<() => Promise<void>> {
  const prng = new Prng(seed);
  const touched: string[] = [];
  const created: string[] = [];
  await mkdir(backupDir, { recursive: true });
  const save = async (path: string): Promise<void> => {
    const copy = join(backupDir, String(touched.length));
    await copyFile(path, copy);
    touched.push(path);
  };
  for (let m = 0; m < shape.medium; m += 10) {
    const path = join(root, 'medium', `doc-${m}.bin`);
    await save(path);
    const size = (await stat(path)).size;
    const handle = await open(path, 'r+');
    await handle.write(noise(`edit-${m}`, 64 * 1024), 0, 64 * 1024, prng.int(size - 64 * 1024));
    await handle.close();
  }
  for (let g = 0; g < shape.logs; g++) {
    const path = join(root, 'logs', `app-${g}.log`);
    await save(path);
    const handle = await open(path, 'a');
    await handle.write(text(prng, Math.floor((shape.logMiB * MiB) / 64), true));
    await handle.close();
  }
  const large = join(root, 'large', 'video-0.mp4');
  await save(large);
  const handle = await open(large, 'r+');
  for (const at of [0.25, 0.75])
    await handle.write(
      noise(`large-edit-${at}`, MiB),
      0,
      MiB,
      Math.floor(shape.largeMiB * MiB * at),
    );
  await handle.close();
  for (let d = 0; d < shape.srcDirs; d += Math.max(1, Math.floor(shape.srcDirs / 20))) {
    const dir = join(root, 'src', `module-${d % 20}`, `pkg-${d}`);
    const gone = join(dir, 'file-0.ts');
    await save(gone);
    await rm(gone);
    const fresh = join(dir, `new-${d}.ts`);
    await writeFile(fresh, text(prng, 8192));
    created.push(fresh);
  }
  return async () => {
    for (const path of created) await rm(path, { force: true });
    for (let i = 0; i < touched.length; i++) {
      const path = touched[i]!;
      await writeFile(path, await readFile(join(backupDir, String(i))));
      await utimes(path, FIXED_TIME, FIXED_TIME);
    }
    await rm(backupDir, { recursive: true, force: true });
  };
}

/** The many-small-files dataset: `files` files of 0–8 KiB in a tree of realistic depth. */
export interface FilesShape {
  files: number;
}

/** Files per directory on average (source trees, mail spools and node_modules: 5 to 50). */
const FILES_PER_DIR = 16;
/** Subdirectories per directory: with 300,000 files the tree is 5 to 6 levels deep. */
const FANOUT = 6;

/** Relative directory of directory number `d`: its digits in base FANOUT, one level each. */
function filesDir(d: number): string {
  const parts: string[] = [];
  for (let n = d; n > 0; n = Math.floor((n - 1) / FANOUT))
    parts.unshift(`d${(n - 1) % FANOUT}-${n}`);
  return parts.join('/');
}

/** Path of file number `i` (relative to the root) and the content it starts with. */
function filesPath(i: number): string {
  return join(
    filesDir(Math.floor(i / FILES_PER_DIR)),
    `f-${i}.${['ts', 'js', 'json', 'md', 'eml', 'jpg'][i % 6]}`,
  );
}

/**
 * Content pools the files are cut from: text that compresses like source code and noise like
 * photos. Each file starts with its own number, so no two files are equal.
 */
function pools(): { text: Buffer; noise: Buffer } {
  return { text: text(new Prng(99), 4 * MiB), noise: noise('files-pool', 4 * MiB) };
}

function filesContent(
  prng: Prng,
  pool: { text: Buffer; noise: Buffer },
  i: number,
  salt = '',
): Buffer {
  const size = prng.int(8 * 1024 + 1);
  const head = Buffer.from(`// file ${i}${salt}\n`);
  const source = i % 6 === 5 ? pool.noise : pool.text;
  const at = prng.int(source.length - 8 * 1024);
  return Buffer.concat([head, source.subarray(at, at + size)]).subarray(0, size);
}

/** Writes the many-files dataset into `root` (plain system calls: 300,000 awaits cost more). */
export function buildFilesDataset(root: string, shape: FilesShape, seed = 42): number {
  const prng = new Prng(seed);
  const pool = pools();
  let total = 0;
  let madeDir = -1;
  for (let i = 0; i < shape.files; i++) {
    const d = Math.floor(i / FILES_PER_DIR);
    if (d !== madeDir) {
      mkdirSync(join(root, filesDir(d)), { recursive: true });
      madeDir = d;
    }
    const path = join(root, filesPath(i));
    const data = filesContent(prng, pool, i);
    writeFileSync(path, data);
    utimesSync(path, FIXED_TIME, FIXED_TIME);
    total += data.length;
  }
  return total;
}

/** A reversible ~1% change of the many-files dataset: edits, new and deleted files. */
export async function mutateFiles(
  root: string,
  shape: FilesShape,
  backupDir: string,
  seed = 7,
): Promise<() => Promise<void>> {
  const prng = new Prng(seed);
  const pool = pools();
  await mkdir(backupDir, { recursive: true });
  const touched: string[] = [];
  const created: string[] = [];
  // One file in 200 edited, one in 400 deleted and as many created: 1% of the files.
  for (let i = prng.int(100); i < shape.files; i += 100) {
    const path = join(root, filesPath(i));
    await copyFile(path, join(backupDir, String(touched.length)));
    touched.push(path);
    const what = (i / 100) % 4;
    if (what < 2) await writeFile(path, filesContent(prng, pool, i, ' edited'));
    else if (what === 2) await rm(path);
    else await writeFile(path, filesContent(prng, pool, i, ' edited'));
    if (what === 3) {
      const fresh = join(root, filesDir(Math.floor(i / FILES_PER_DIR)), `new-${i}.txt`);
      await writeFile(fresh, filesContent(prng, pool, i, ' new'));
      created.push(fresh);
    }
  }
  return async () => {
    for (const path of created) await rm(path, { force: true });
    for (let i = 0; i < touched.length; i++) {
      const path = touched[i]!;
      await writeFile(path, await readFile(join(backupDir, String(i))));
      await utimes(path, FIXED_TIME, FIXED_TIME);
    }
    await rm(backupDir, { recursive: true, force: true });
  };
}
