/**
 * Issue 9, security points: a hostile client, co-agent or tenant against a real vault process.
 * docs/security.md names these tests for each promise it makes.
 */
import { ROUTES, route } from '@coffer/api';
import { BlobType, PackWriter, blobId, openKeyring, sealBlob, type MasterKeys } from '@coffer/core';
import { randomBytes } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  registerMachine,
  setupTenant,
  tempDir,
  VaultProcess,
  type Machine,
  type TenantSetup,
} from './harness.js';
import { pinnedDispatcherForTests, sendLargeBody } from './http.js';

const MiB = 1024 * 1024;

/** The vault process's peak resident memory (VmHWM), in bytes. */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  if (!kib) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(kib[1]) * 1024;
}

describe('security: hostile clients against a real vault', () => {
  let work: { path: string; cleanup(): Promise<void> };
  let vault: VaultProcess;
  let tenant: TenantSetup;
  let alpha: Machine;
  let http: Awaited<ReturnType<typeof pinnedDispatcherForTests>>;
  const agentToken = async (m: Machine) =>
    (await readFile(join(m.configDir, 'token'), 'utf8')).trim();
  const agentKeys = async (m: Machine): Promise<MasterKeys> =>
    openKeyring(await readFile(join(m.configDir, 'keyring.json'), 'utf8'), m.passphrase);
  const packPath = (keyringId: string, name: string) =>
    join(vault.dataDir, 'blobs', 'packs', keyringId, name.slice(0, 2), name);

  beforeAll(async () => {
    work = await tempDir('coffer-security-');
    vault = new VaultProcess(join(work.path, 'vault'));
    await vault.start();
    tenant = await setupTenant(vault, 'sec-a');
    alpha = await registerMachine(vault, tenant, work.path, 'alpha');
    http = await pinnedDispatcherForTests(vault);
  });

  afterAll(async () => {
    await http?.close();
    await vault?.stop();
    await work?.cleanup();
  });

  it('refuses unauthenticated 100 MB JSON uploads with 401 before reading them, in bounded memory', async () => {
    const size = 100 * MiB;
    const path = route(ROUTES.packUpload, { pack: '0'.repeat(64) });
    const before = await peakRss(vault.pid);
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        sendLargeBody(vault, {
          method: 'PUT',
          path,
          headers: { 'content-type': 'application/json' },
          size,
        }),
      ),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      // The answer came while the body was still being sent: the vault did not read it.
      expect(answer.sentBeforeAnswer).toBeLessThan(size);
    }
    // Six buffered 100 MB bodies would add 600 MB; the vault's peak may grow only a little.
    expect((await peakRss(vault.pid)) - before).toBeLessThan(64 * MiB);
  });

  it('answers 415 to an authenticated JSON body on the pack route, and to a pack on a JSON route', async () => {
    const token = await agentToken(alpha);
    const pack = await sendLargeBody(vault, {
      method: 'PUT',
      path: route(ROUTES.packUpload, { pack: '0'.repeat(64) }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      size: 10 * MiB,
    });
    expect(pack.status).toBe(415);
    expect(pack.sentBeforeAnswer).toBeLessThan(10 * MiB);
    const exists = await sendLargeBody(vault, {
      method: 'POST',
      path: ROUTES.blobsExist,
      headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${token}` },
      size: 1024,
    });
    expect(exists.status).toBe(415);
  });

  it('limits each JSON route to its own body size', async () => {
    const token = await agentToken(alpha);
    const ids = Array.from({ length: 10_000 }, (_, i) => i.toString(16).padStart(64, '0'));
    // A full batch of ids fits; a body of more than that is refused with 413.
    expect(await http.status('POST', ROUTES.blobsExist, token, { ids })).toBe(200);
    const tooBig = await sendLargeBody(vault, {
      method: 'POST',
      path: ROUTES.blobsExist,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      size: 2 * MiB,
      holdBody: true,
    });
    expect(tooBig.status).toBe(413);
    const vaultBody = await sendLargeBody(vault, {
      method: 'POST',
      path: ROUTES.vaults,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.ownerToken}` },
      size: 256 * 1024,
      holdBody: true,
    });
    expect(vaultBody.status).toBe(413);
  });

  it('refuses a pack whose footer says tree for a data blob, also past the first 64 MiB, and stores nothing', async () => {
    const keys = await agentKeys(alpha);
    const token = await agentToken(alpha);
    const plain = Buffer.from('a data chunk');
    const id = blobId(keys.idKey, plain);
    for (const padding of [0, 65 * MiB]) {
      const writer = new PackWriter({ targetSize: Number.MAX_SAFE_INTEGER });
      writer.add(id, BlobType.tree, sealBlob(keys, BlobType.data, id, plain));
      if (padding > 0) {
        // A large honest blob after the lying one: its header streams past before the footer.
        const big = randomBytes(padding);
        big[0] = 1;
        big[1] = BlobType.data;
        writer.add(randomBytes(32), BlobType.data, big);
      }
      const pack = writer.finish();
      const answer = await http.upload(
        route(ROUTES.packUpload, { pack: pack.name }),
        token,
        Buffer.concat(pack.bytes),
      );
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
      expect(JSON.stringify(answer.body)).toMatch(/header says type 1, the footer 2/);
      await expect(access(packPath(keys.keyringId, pack.name))).rejects.toThrow(/ENOENT/);
    }
    expect(
      await http.json('POST', ROUTES.blobsExist, token, { ids: [id.toString('hex')] }),
    ).toEqual({ missing: [id.toString('hex')] });
  });
});
