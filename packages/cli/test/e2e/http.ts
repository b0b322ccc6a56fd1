/**
 * Raw HTTP calls to a test vault over its pinned certificate, for status-code assertions.
 */
import { pinnedDispatcher } from '@coffer/agent';
import { certificateFingerprint } from '@coffer/vault';
import { readFile } from 'node:fs/promises';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
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
        // An empty token sends no Authorization header (the public registration route).
        ...(token === '' ? {} : { authorization: `Bearer ${token}` }),
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
    /** The status and parsed JSON answer of a call. */
    async call(
      method: string,
      path: string,
      token: string,
      body?: unknown,
    ): Promise<{ status: number; body: unknown }> {
      const response = await send(method, path, token, body);
      const text = await response.body.text();
      return { status: response.statusCode, body: text === '' ? undefined : JSON.parse(text) };
    },
    /** Sends `bytes` as application/octet-stream; the status and the parsed JSON answer. */
    async upload(
      path: string,
      token: string,
      bytes: Buffer,
    ): Promise<{ status: number; body: unknown }> {
      const response = await dispatcher.request({
        origin,
        path,
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
        body: bytes,
      });
      return { status: response.statusCode, body: await response.body.json() };
    },
    close: () => dispatcher.close(),
  };
}

/**
 * Sends a `size`-byte body to `vault` as fast as the socket takes it, and resolves with the
 * answer's status and how many body bytes had been handed to the socket when the answer came:
 * fewer than `size` means the vault answered without reading the whole body. With `holdBody`,
 * only the headers are sent until the answer comes (for answers that close the connection).
 */
export async function sendLargeBody(
  vault: VaultProcess,
  request: {
    method: string;
    path: string;
    headers: Record<string, string>;
    size: number;
    holdBody?: boolean;
  },
): Promise<{ status: number; sentBeforeAnswer: number }> {
  const ca = await readFile(join(vault.dataDir, 'tls', 'cert.pem'), 'utf8');
  const { hostname, port } = new URL(vault.url);
  const piece = Buffer.alloc(1024 * 1024, 0x61);
  // A keep-alive agent of its own: one connection per request, and no "Connection: close",
  // which would let the vault close the socket under the client's writes.
  const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1 });
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = httpsRequest({
      host: hostname,
      port: Number(port),
      method: request.method,
      path: request.path,
      ca,
      agent,
      headers: { ...request.headers, 'content-length': String(request.size) },
    });
    req.on('response', (response) => {
      answered = true;
      const sentBeforeAnswer = sent;
      response.resume();
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, sentBeforeAnswer });
        req.destroy();
        agent.destroy();
      });
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const pump = (): void => {
      while (sent < request.size && !answered) {
        const n = Math.min(piece.length, request.size - sent);
        sent += n;
        if (!req.write(n === piece.length ? piece : piece.subarray(0, n))) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    if (request.holdBody) req.flushHeaders();
    else pump();
  });
}
