/**
 * Raw HTTP calls to a test vault over its pinned certificate, for status-code assertions.
 */
import { pinnedDispatcher } from '@coffer/agent';
import { certificateFingerprint } from '@coffer/vault';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VaultProcess } from './harness.js';

/** A pinned HTTP client of `vault`. */
export async function pinnedDispatcherForTests(vault: VaultProcess) {
  const fingerprint = certificateFingerprint(
    await readFile(join(vault.dataDir, 'tls', 'cert.pem'), 'utf8'),
  );
  const dispatcher = pinnedDispatcher(fingerprint);
  const origin = new URL(vault.url).origin;
  async function send(method: string, path: string, token: string, body?: unknown) {
    const response = await dispatcher.request({
      origin,
      path,
      method: method as 'GET',
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? null : JSON.stringify(body),
    });
    return response;
  }
  return {
    async status(method: string, path: string, token: string, body?: unknown): Promise<number> {
      const response = await send(method, path, token, body);
      await response.body.dump();
      return response.statusCode;
    },
    async json(method: string, path: string, token: string, body?: unknown): Promise<unknown> {
      return (await send(method, path, token, body)).body.json();
    },
    close: () => dispatcher.close(),
  };
}
