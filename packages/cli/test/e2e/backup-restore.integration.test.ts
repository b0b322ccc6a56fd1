import { chunkStream, gearTable, openKeyring } from '@coffer/core';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFixture, snapshot } from './fixture.js';
import {
  createPgDatabase,
  DIALECTS,
  json,
  registerMachine,
  setupTenant,
  tempDir,
  VaultProcess,
  type Machine,
  type TestDb,
} from './harness.js';

/** Each chunk of `path` in file order, as the machine's keyring cuts it, and the chunker's max. */
async function fileChunks(
  path: string,
  machine: Machine,
): Promise<{ chunks: { hash: string; length: number }[]; max: number }> {
  const keys = await openKeyring(
    await readFile(join(machine.configDir, 'keyring.json'), 'utf8'),
    machine.passphrase,
  );
  const chunks: { hash: string; length: number }[] = [];
  const stream = createReadStream(path) as AsyncIterable<Uint8Array>;
  for await (const chunk of chunkStream(stream, gearTable(keys.idKey), keys.chunker)) {
    chunks.push({ hash: createHash('sha256').update(chunk).digest('hex'), length: chunk.length });
  }
  return { chunks, max: keys.chunker.max };
}

interface BackupJson {
  point: {
    id: string;
    stats: {
      newFiles: number;
      changedFiles: number;
      unchangedFiles: number;
      addedBytes: number;
      storedBytes: number;
      files: number;
    };
  };
  warnings: { path: string; message: string }[];
}

describe.each(DIALECTS)('backup and restore (%s metadata)', (dialect) => {
  let work: { path: string; cleanup(): Promise<void> };
  let db: TestDb | undefined;
  let vault: VaultProcess;
  let machine: Machine;
  let source: string;

  beforeAll(async () => {
    work = await tempDir('coffer-e2e-');
    db = dialect === 'postgres' ? await createPgDatabase() : undefined;
    vault = new VaultProcess(join(work.path, 'vault'), db?.url);
    await vault.start();
    const tenant = await setupTenant(vault, 'acme');
    machine = await registerMachine(vault, tenant, work.path, 'alpha');
    source = join(work.path, 'src');
    await mkdir(source);
    await makeFixture(source);
  });

  afterAll(async () => {
    await vault?.stop();
    await db?.drop();
    await work?.cleanup();
  });

  it('restores every kind of entry byte-identical with metadata, to an alternate directory', async () => {
    const backup = await machine.run(['backup', source, '--json']);
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    const { point } = json<BackupJson>(backup);
    const target = join(work.path, 'restored');
    const restore = await machine.run([
      'restore',
      point.id.slice(0, 10),
      '--target',
      target,
      // Set-uid bits too: this restore is to be an exact copy.
      '--special-files',
      '--json',
    ]);
    expect(restore.code, restore.stderr).toBe(0);
    const before = await snapshot(source);
    const after = await snapshot(join(target, source));
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [key, want] of before) {
      const got = after.get(key)!;
      expect({
        key,
        type: got.type,
        mode: got.mode,
        size: got.size,
        hash: got.hash,
        target: got.target,
      }).toEqual({
        key,
        type: want.type,
        mode: want.mode,
        size: want.size,
        hash: want.hash,
        target: want.target,
      });
      // Times are set with utimensat, so they come back to the nanosecond.
      expect(got.mtimeNs, `${key} mtime`).toBe(want.mtimeNs);
    }
    expect(after.get('/hard1')!.inode).toBe(after.get('/hard2')!.inode);
    expect(after.get('/hard1')!.inode).not.toBe(after.get('/one')!.inode);
  });

  it('uploads no data and reads no file contents when nothing changed', async () => {
    const result = await machine.run(['backup', source, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const { stats } = json<BackupJson>(result).point;
    expect(stats.newFiles).toBe(0);
    expect(stats.changedFiles).toBe(0);
    expect(stats.unchangedFiles).toBe(stats.files);
    expect(stats.addedBytes).toBe(0);
    // Only the new manifest (and its pack footer) is stored.
    expect(stats.storedBytes).toBeLessThan(4096);
  });

  it('uploads only the chunks a 1 MiB change inside a 200 MiB file touched', async () => {
    const bigDir = join(work.path, 'bigsrc');
    await mkdir(bigDir);
    const big = join(bigDir, 'disk.img');
    const file = await open(big, 'w');
    for (let i = 0; i < 200; i++) await file.write(randomBytes(1024 * 1024));
    await file.close();
    const first = await machine.run(['backup', bigDir, '--item', 'big', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const before = new Set((await fileChunks(big, machine)).chunks.map((c) => c.hash));
    const editStart = 100 * 1024 * 1024 + 12345;
    const editEnd = editStart + 1024 * 1024;
    const edit = await open(big, 'r+');
    await edit.write(randomBytes(1024 * 1024), 0, 1024 * 1024, editStart);
    await edit.close();
    const { chunks: after, max } = await fileChunks(big, machine);
    // Cut points depend on the keyring's gear table, so the changed chunks are computed with
    // this machine's keys rather than bounded by a guess that random boundaries can exceed.
    let offset = 0;
    const changed: { start: number; end: number; index: number }[] = [];
    after.forEach(({ hash, length }, index) => {
      if (!before.has(hash)) changed.push({ start: offset, end: offset + length, index });
      offset += length;
    });
    const changedBytes = changed.reduce((sum, c) => sum + c.end - c.start, 0);
    const second = await machine.run(['backup', bigDir, '--item', 'big', '--json']);
    expect(second.code, second.stderr).toBe(0);
    const { stats } = json<BackupJson>(second).point;
    expect(stats.changedFiles).toBe(1);
    expect(stats.addedBytes).toBe(changedBytes);
    // Random bytes do not compress: what is stored is those chunks plus blob headers, one
    // tree per directory level, the manifest and pack footers.
    expect(stats.storedBytes).toBeGreaterThanOrEqual(changedBytes);
    expect(stats.storedBytes).toBeLessThan(changedBytes + 64 * 1024);
    // Content-defined chunking resynchronises: one run of chunks around the change, ending
    // within two maximal chunks after it, and the file's tail (about 99 MiB) is not re-sent.
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.at(-1)!.index - changed[0]!.index + 1).toBe(changed.length);
    expect(changed[0]!.start).toBeLessThanOrEqual(editStart);
    expect(changed.at(-1)!.end).toBeGreaterThanOrEqual(editEnd);
    expect(changed.at(-1)!.end).toBeLessThanOrEqual(editEnd + 2 * max);
  });

  it('restores a single file or subtree with --path, and --conflict does what it says', async () => {
    const target = join(work.path, 'partial');
    const one = await machine.run([
      'restore',
      'latest',
      '--item',
      'default',
      '--target',
      target,
      '--path',
      join(source, 'a/b'),
      '--json',
    ]);
    expect(one.code, one.stderr).toBe(0);
    expect(await readFile(join(target, source, 'a/b/c/deep.txt'), 'utf8')).toBe('deep\n');
    expect(await readdir(join(target, source))).toEqual(['a']);

    const file = join(source, 'with space');
    const dest = join(target, file);
    const run = (mode: string) =>
      machine.run([
        'restore',
        'latest',
        '--item',
        'default',
        '--target',
        target,
        '--path',
        file,
        '--conflict',
        mode,
        '--json',
      ]);
    expect((await run('overwrite')).code).toBe(0);
    await writeFile(dest, 'local edit\n');
    expect((await run('skip')).code).toBe(0);
    expect(await readFile(dest, 'utf8')).toBe('local edit\n');
    expect((await run('keep-both')).code).toBe(0);
    expect(await readFile(dest, 'utf8')).toBe('local edit\n');
    expect(await readFile(`${dest}.restored`, 'utf8')).toBe('space\n');
    expect((await run('overwrite')).code).toBe(0);
    expect(await readFile(dest, 'utf8')).toBe('space\n');
  });

  it('backs up the rest and exits 3 when an entry cannot be backed up (a socket)', async () => {
    const dir = join(work.path, 'with-socket');
    await mkdir(dir);
    await writeFile(join(dir, 'kept.txt'), 'kept\n');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(dir, 'daemon.sock'), resolve));
    try {
      const result = await machine.run(['backup', dir, '--item', 'socket']);
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/daemon\.sock: skipped: sockets cannot be backed up/);
      expect(result.stdout).toMatch(/Recovery point [0-9a-f]{64}/);
      const listing = await machine.run(['ls', 'latest', '--item', 'socket', dir]);
      expect(listing.stdout).toContain('kept.txt');
      expect(listing.stdout).not.toContain('daemon.sock');
    } finally {
      server.close();
    }
  });

  it('refuses a wrong passphrase with a clear error and writes nothing', async () => {
    const target = join(work.path, 'wrong-pass');
    const result = await machine.run(['restore', 'latest', '--target', target], {
      COFFER_PASSPHRASE: 'this is not the passphrase',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/wrong passphrase/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    await expect(stat(target)).rejects.toThrow();
  });

  it('refuses a backup with a wrong passphrase and commits no point', async () => {
    const result = await machine.run(['backup', source, '--item', 'wrong-pass'], {
      COFFER_PASSPHRASE: 'this is not the passphrase',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/wrong passphrase/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    const listed = await machine.run(['points', '--item', 'wrong-pass', '--json']);
    expect(listed.code).toBe(1);
    expect(listed.stderr).toMatch(/no item wrong-pass here/);
  });

  it('names the damaged point and file when a stored pack is corrupted; other files still restore', async () => {
    const dir = join(work.path, 'damage');
    await mkdir(dir);
    await writeFile(join(dir, 'victim.bin'), randomBytes(3 * 1024 * 1024));
    await writeFile(join(dir, 'safe.txt'), 'safe and sound\n');
    const startedAt = Date.now() - 1000;
    const machineDamage = await machine.run(['backup', dir, '--item', 'damage', '--json']);
    expect(machineDamage.code, machineDamage.stderr).toBe(0);
    const pointId = json<BackupJson>(machineDamage).point.id;
    // Flip one byte in the middle of the largest pack written by that backup: the victim's data.
    const packsDir = join(vault.dataDir, 'blobs', 'packs');
    const packs: { path: string; size: number; mtime: number }[] = [];
    for (const keyring of await readdir(packsDir)) {
      for (const fan of await readdir(join(packsDir, keyring))) {
        for (const name of await readdir(join(packsDir, keyring, fan))) {
          const path = join(packsDir, keyring, fan, name);
          const st = await stat(path);
          packs.push({ path, size: st.size, mtime: st.mtimeMs });
        }
      }
    }
    const latest = packs.filter((p) => p.mtime >= startedAt).sort((a, b) => b.size - a.size)[0]!;
    expect(latest.size).toBeGreaterThan(3 * 1024 * 1024);
    const bytes = await readFile(latest.path);
    bytes[Math.floor(bytes.length / 3)]! ^= 0x01;
    await writeFile(latest.path, bytes);

    const verify = await machine.run(['verify', pointId.slice(0, 12), '--read-data', '--json']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(1);
    const report = json<{ damage: { point: string; path: string }[] }>(verify);
    expect(report.damage.length).toBeGreaterThan(0);
    expect(report.damage[0]!.point).toBe(pointId);
    expect(report.damage.map((d) => d.path)).toContain(join(dir, 'victim.bin'));

    const target = join(work.path, 'after-damage');
    const safe = await machine.run([
      'restore',
      pointId,
      '--target',
      target,
      '--path',
      join(dir, 'safe.txt'),
    ]);
    expect(safe.code, safe.stderr).toBe(0);
    expect(await readFile(join(target, dir, 'safe.txt'), 'utf8')).toBe('safe and sound\n');

    // A full restore writes what it can, names the damaged file and leaves no half file.
    const all = join(work.path, 'after-damage-all');
    const whole = await machine.run(['restore', pointId, '--target', all]);
    expect(whole.code, whole.stderr).not.toBe(0);
    expect(whole.stderr).toContain('victim.bin');
    expect(await readFile(join(all, dir, 'safe.txt'), 'utf8')).toBe('safe and sound\n');
    expect(await readdir(join(all, dir))).toEqual(['safe.txt']);
  });
});
