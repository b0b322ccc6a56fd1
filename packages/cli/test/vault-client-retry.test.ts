import { VaultClient } from '@coffer/agent';
import { ensureTlsIdentity } from '@coffer/vault';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

// A vault that answers 500 (or the status `answer` holds) to everything and counts requests
// per path: a retry of a call that creates something must never reach it twice.
describe('VaultClient retries', () => {
  let dir: string;
  let server: Server;
  let client: VaultClient;
  const seen = new Map<string, number>();
  let answer = 500;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coffer-retry-'));
    const tls = await ensureTlsIdentity(dir);
    server = createServer({ key: tls.key, cert: tls.cert }, (request, response) => {
      const path = (request.url ?? '').split('?')[0]!;
      seen.set(`${request.method} ${path}`, (seen.get(`${request.method} ${path}`) ?? 0) + 1);
      request.resume();
      request.on('end', () => {
        response.writeHead(answer, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { code: 'INTERNAL', message: 'boom' } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = new VaultClient({
      url: `https://127.0.0.1:${port}`,
      fingerprint: tls.fingerprint,
      token: 't',
      attempts: 3,
    });
  });

  afterAll(async () => {
    await client.close();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    seen.clear();
    answer = 500;
  });

  it('sends a creating POST once when the vault fails while handling it', async () => {
    await expect(client.createTenant('acme')).rejects.toThrow(/boom/);
    expect([...seen.values()]).toEqual([1]);
  });

  it('sends a creating POST again when the vault shed it (503)', async () => {
    answer = 503;
    await expect(client.createTenant('acme')).rejects.toThrow(/boom/);
    expect([...seen.values()]).toEqual([3]);
  });

  it('retries reads and idempotent POSTs (which ids are missing) on a server fault', async () => {
    await expect(client.whoami()).rejects.toThrow(/boom/);
    await expect(client.missing(['00'.repeat(32)])).rejects.toThrow(/boom/);
    expect([...seen.values()]).toEqual([3, 3]);
  });
});
