/**
 * @module plugins/body
 * Which bodies the vault reads: JSON on the routes that take JSON, a raw stream on the routes
 * marked `config: { stream: true }` (pack upload), anything else 415 before a byte is read.
 */
import type { FastifyInstance } from 'fastify';
import { HttpError } from './errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes its body as an `application/octet-stream` stream, never as JSON. */
    stream?: boolean;
  }
}

function mediaType(header: string | undefined): string | undefined {
  return header?.split(';', 1)[0]!.trim().toLowerCase();
}

/** Removes every parser but JSON, adds the stream passthrough and the per-route media rule. */
export function installBodyRules(app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain');
  // Stream routes read the payload themselves; the rule below keeps it off every other route.
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => {
    done(null, payload);
  });
  app.addHook('onRequest', async (request) => {
    const hasBody =
      request.headers['transfer-encoding'] !== undefined ||
      Number(request.headers['content-length'] ?? 0) > 0;
    if (!hasBody) return;
    const expected =
      request.routeOptions.config.stream === true ? 'application/octet-stream' : 'application/json';
    const actual = mediaType(request.headers['content-type']);
    if (actual === expected) return;
    throw new HttpError(
      'UNSUPPORTED_MEDIA_TYPE',
      `this route takes ${expected}, not ${actual ?? 'a body without Content-Type'}`,
    );
  });
}
