/**
 * @module plugins/errors
 * The one place that turns errors into HTTP answers with a stable code (docs/errors.md).
 */
import { ERROR_STATUS, type ErrorBody, type ErrorCode } from '@coffer/api';
import { CofferError } from '@coffer/core';
import type { FastifyError, FastifyInstance } from 'fastify';

/** An error a route raises on purpose, with its wire code. */
export class HttpError extends CofferError {
  readonly missing: string[] | undefined;
  constructor(code: ErrorCode, message: string, missing?: string[]) {
    super(code, message);
    this.missing = missing;
  }
}

/** A full disk under the metadata database: SQLite's SQLITE_FULL, PostgreSQL's disk_full. */
const DISK_FULL = new Set(['SQLITE_FULL', '53100']);

function statusOf(code: string): number {
  return code in ERROR_STATUS ? ERROR_STATUS[code as ErrorCode] : 500;
}

/** Installs the error and not-found handlers. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | CofferError | Error, request, reply) => {
    let body: ErrorBody;
    let status: number;
    if (error instanceof CofferError) {
      status = statusOf(error.code);
      body = { error: { code: error.code, message: error.message } };
      if (error instanceof HttpError && error.missing) body.error.missing = error.missing;
    } else if (DISK_FULL.has(String((error as { code?: unknown }).code))) {
      status = ERROR_STATUS.STORAGE_FULL;
      body = {
        error: {
          code: 'STORAGE_FULL',
          message:
            "the vault's metadata storage is full; free space on the vault's disk or ask its operator to, then try again",
        },
      };
    } else if ('validation' in error && error.validation) {
      status = 400;
      body = { error: { code: 'BAD_REQUEST', message: error.message } };
    } else if ('statusCode' in error && error.statusCode && error.statusCode < 500) {
      status = error.statusCode;
      const code =
        status === 413
          ? 'PAYLOAD_TOO_LARGE'
          : status === 415
            ? 'UNSUPPORTED_MEDIA_TYPE'
            : 'BAD_REQUEST';
      body = { error: { code, message: error.message } };
    } else {
      request.log.error({ err: error }, 'request failed');
      status = 500;
      body = { error: { code: 'INTERNAL', message: 'internal error; see the vault log' } };
    }
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = {
      error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}` },
    };
    return reply.status(404).send(body);
  });
}
