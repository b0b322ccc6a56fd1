import { execFileSync } from 'node:child_process';
import { chmod, lstat, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  json,
  registerMachine,
  setupTenant,
  tempDir,
  VaultProcess,
  type Machine,
} from './harness.js';

const isRoot = process.getuid?.() === 0;

interface Entry {
  path: string;
  name: string;
  type: string;
  mode: number;
  modeString: string;
}

describe('restore in place, browse and find', () => {
  let work: { path: string; cleanup(): Promise<void> };
  let vault: VaultProcess;
  let machine: Machine;
  let source: string;
  let firstPoint: string;
  let secondPoint: string;

  beforeAll(async () => {
    work = await tempDir('coffer-browse-');
    vault = new VaultProcess(join(work.path, 'vault'));
    await vault.start();
    machine = await registerMachine(vault, await setupTenant(vault, 'acme'), work.path, 'alpha');
    source = join(work.path, 'home');
    await mkdir(join(source, 'docs', 'old'), { recursive: true });
    await mkdir(join(source, 'shared'));
    await chmod(join(source, 'shared'), 0o1777);
    await writeFile(join(source, 'docs', 'report-2023.txt'), 'numbers 2023\n');
    await writeFile(join(source, 'docs', 'old', 'report-2019.txt'), 'numbers 2019\n');
    await writeFile(join(source, 'tool'), '#!/bin/sh\n');
    await chmod(join(source, 'tool'), 0o4755);
    if (isRoot) execFileSync('mknod', [join(source, 'null'), 'c', '1', '3']);
    const first = await machine.run(['backup', source, '--json']);
    expect(first.code, first.stderr).toBe(0);
    firstPoint = json<{ point: { id: string } }>(first).point.id;
    await writeFile(join(source, 'docs', 'report-2024.txt'), 'numbers 2024\n');
    const second = await machine.run(['backup', source, '--json']);
    expect(second.code, second.stderr).toBe(0);
    secondPoint = json<{ point: { id: string } }>(second).point.id;
  });

  afterAll(async () => {
    await vault?.stop();
    await work?.cleanup();
  });

  it('lists recursively with modes (set-uid, sticky), and takes a relative path below the source', async () => {
    const long = await machine.run(['ls', 'latest', '--recursive', '--long']);
    expect(long.code, long.stderr).toBe(0);
    expect(long.stdout).toMatch(new RegExp(`^-rwsr-xr-x .* ${source}/tool$`, 'm'));
    expect(long.stdout).toMatch(new RegExp(`^drwxrwxrwt .* ${source}/shared$`, 'm'));
    expect(long.stdout).toMatch(
      new RegExp(`^-rw-r--r-- .* ${source}/docs/old/report-2019\\.txt$`, 'm'),
    );

    const relative = await machine.run(['ls', 'latest', 'docs']);
    expect(relative.code, relative.stderr).toBe(0);
    expect(relative.stdout.split('\n').filter(Boolean).sort()).toEqual([
      'old/',
      'report-2023.txt',
      'report-2024.txt',
    ]);

    const listed = json<{ point: { id: string }; path: string; entries: Entry[] }>(
      await machine.run(['ls', firstPoint.slice(0, 12), 'docs', '--recursive', '--json']),
    );
    expect(listed.point.id).toBe(firstPoint);
    expect(listed.path).toBe(join(source, 'docs'));
    expect(listed.entries.map((e) => e.path)).toEqual([
      join(source, 'docs/old'),
      join(source, 'docs/old/report-2019.txt'),
      join(source, 'docs/report-2023.txt'),
    ]);
    expect(listed.entries[0]).toMatchObject({ type: 'dir', modeString: 'drwxr-xr-x' });
  });

  it('finds which points hold a file, newest first, by name or by path', async () => {
    const byName = await machine.run(['find', 'report-202*.txt']);
    expect(byName.code, byName.stderr).toBe(0);
    const lines = byName.stdout.trim().split('\n');
    expect(lines.map((l) => l.slice(0, 12) + ' ' + l.split(' ').at(-1))).toEqual([
      `${secondPoint.slice(0, 12)} ${source}/docs/report-2023.txt`,
      `${secondPoint.slice(0, 12)} ${source}/docs/report-2024.txt`,
      `${firstPoint.slice(0, 12)} ${source}/docs/report-2023.txt`,
    ]);
    const byPath = json<{ pattern: string; matches: { pointId: string; path: string }[] }>(
      await machine.run(['find', `${source}/docs/*/*.txt`, '--point', firstPoint, '--json']),
    );
    expect(byPath.matches).toEqual([
      expect.objectContaining({ pointId: firstPoint, path: `${source}/docs/old/report-2019.txt` }),
    ]);
    const none = await machine.run(['find', 'nothing-like-this']);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/No entry matches nothing-like-this in 2 points/);
  });

  it('says an item is unknown instead of listing no points', async () => {
    const points = await machine.run(['points', '--item', 'nope']);
    expect(points.code).toBe(1);
    expect(points.stderr).toMatch(/no item nope here; the items with recovery points are: default/);
    const ls = await machine.run(['ls', 'latest', '--item', 'nope', '--json']);
    expect(ls.code).toBe(1);
    expect(ls.stdout).toBe('');
    expect(JSON.parse(ls.stderr)).toEqual({
      error: { code: 'NOT_FOUND', message: expect.stringMatching(/no item nope/) },
    });
  });

  it('requires an explicit conflict mode to restore in place, then restores there', async () => {
    for (const args of [['--original'], ['--original', '--target', '/tmp/x'], []]) {
      const refused = await machine.run(['restore', 'latest', ...args, '--json']);
      expect(refused.code, args.join(' ')).toBe(2);
      expect(JSON.parse(refused.stderr).error.code).toBe('USAGE');
    }
    await writeFile(join(source, 'docs', 'report-2023.txt'), 'overwritten by mistake\n');
    await rm(join(source, 'docs', 'old'), { recursive: true });
    await chmod(join(source, 'tool'), 0o755);
    const restored = await machine.run([
      'restore',
      'latest',
      '--original',
      '--conflict',
      'overwrite',
    ]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/to their original place/);
    expect(await readFile(join(source, 'docs', 'report-2023.txt'), 'utf8')).toBe('numbers 2023\n');
    expect(await readFile(join(source, 'docs', 'old', 'report-2019.txt'), 'utf8')).toBe(
      'numbers 2019\n',
    );
    // In place, set-uid bits come back as they were.
    expect((await stat(join(source, 'tool'))).mode & 0o7777).toBe(0o4755);
  });

  it('restores no set-uid bit or device node elsewhere unless asked', async () => {
    const target = join(work.path, 'elsewhere');
    const plain = await machine.run(['restore', 'latest', '--target', target]);
    expect(plain.code, plain.stderr).toBe(0);
    expect((await stat(join(target, source, 'tool'))).mode & 0o7777).toBe(0o755);
    expect(plain.stdout).toMatch(
      new RegExp(`${isRoot ? 1 : 0} device nodes? skipped, 1 file without set-uid/set-gid bits`),
    );
    expect(await readdir(join(target, source))).not.toContain('null');

    const asked = join(work.path, 'asked');
    const special = await machine.run(['restore', 'latest', '--target', asked, '--special-files']);
    expect(special.code, special.stderr).toBe(0);
    expect((await stat(join(asked, source, 'tool'))).mode & 0o7777).toBe(0o4755);
    if (isRoot) expect((await lstat(join(asked, source, 'null'))).isCharacterDevice()).toBe(true);
  });

  it('takes a relative --path below the source path, and keep-both copies only what differs', async () => {
    const target = join(work.path, 'keep-both');
    const args = [
      'restore',
      'latest',
      '--target',
      target,
      '--path',
      'docs',
      '--conflict',
      'keep-both',
    ];
    expect((await machine.run(args)).code).toBe(0);
    const docs = join(target, source, 'docs');
    expect((await readdir(docs)).sort()).toEqual(['old', 'report-2023.txt', 'report-2024.txt']);

    await writeFile(join(docs, 'report-2024.txt'), 'edited here\n');
    const again = await machine.run([...args, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(json<{ stats: { identical: number } }>(again).stats.identical).toBe(2);
    expect((await readdir(docs)).sort()).toEqual([
      'old',
      'report-2023.txt',
      'report-2024.txt',
      'report-2024.txt.restored',
    ]);
    expect((await readdir(join(docs, 'old'))).sort()).toEqual(['report-2019.txt']);
    expect(await readFile(join(docs, 'report-2024.txt.restored'), 'utf8')).toBe('numbers 2024\n');
  });
});
