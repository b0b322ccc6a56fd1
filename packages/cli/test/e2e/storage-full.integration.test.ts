/**
 * A full blob store (issue 9, point 9): a real tmpfs too small for the backup. The agent stops
 * at once with one clear line, the vault stays up, and what it stored earlier still verifies.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  json,
  mountTinyDisk,
  registerMachine,
  setupTenant,
  tempDir,
  VaultProcess,
  type Machine,
} from './harness.js';

const work = await tempDir('coffer-full-');
const blobs = join(work.path, 'vault', 'blobs');
await mkdir(blobs, { recursive: true });
const disk = mountTinyDisk(blobs, '6m');
afterAll(async () => {
  if ('unmount' in disk) disk.unmount();
  await work.cleanup();
});

describe.skipIf('unavailable' in disk)('a full blob store', () => {
  let vault: VaultProcess;
  let machine: Machine;

  beforeAll(async () => {
    vault = new VaultProcess(join(work.path, 'vault'));
    await vault.start();
    machine = await registerMachine(vault, await setupTenant(vault, 'full'), work.path, 'full');
  });

  afterAll(async () => {
    await vault?.stop();
  });

  it('answers STORAGE_FULL, which the agent does not retry; the vault and its data are unharmed', async () => {
    const small = join(work.path, 'small');
    await mkdir(small);
    await writeFile(join(small, 'a.bin'), randomBytes(1024 * 1024));
    const first = await machine.run(['backup', small, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const point = json<{ point: { id: string } }>(first).point.id;

    const big = join(work.path, 'big');
    await mkdir(big);
    await writeFile(join(big, 'b.bin'), randomBytes(12 * 1024 * 1024));
    const full = await machine.run(['backup', big, '--item', 'big']);
    expect(full.code).toBe(1);
    expect(full.stderr.trim().split('\n')).toHaveLength(1);
    expect(full.stderr).toMatch(/the vault's storage is full/);
    expect(vault.output).not.toMatch(/Digest|unhandled/i);
    // Nothing half-written was left behind in the store.
    expect(await readdir(join(blobs, '.tmp'))).toEqual([]);

    const listed = await machine.run(['points', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const verify = await machine.run(['verify', point, '--read-data']);
    expect(verify.code, verify.stdout).toBe(0);
  });
});

describe.runIf('unavailable' in disk)('a full blob store (skipped)', () => {
  it.skip(`needs a tmpfs mount: ${'unavailable' in disk ? disk.unavailable : ''}`, () => undefined);
});
