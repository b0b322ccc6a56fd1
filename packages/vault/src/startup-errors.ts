/**
 * @module startup-errors
 * What stops a vault from starting, in one line that says what to do: a busy or forbidden
 * listen address, a metadata database that is missing or refuses the login.
 */
import { CofferError } from '@coffer/core';
import { createServer } from 'node:net';

/** A listen failure as a line that names the address and the way out. */
export function listenError(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (code === 'EADDRINUSE') {
    return new CofferError(
      'ADDRESS_IN_USE',
      `${address} is in use (another vault?): stop that process or choose another --listen HOST:PORT`,
    );
  }
  if (code === 'EACCES') {
    return new CofferError(
      'ADDRESS_DENIED',
      `${address}: this user may not listen there (ports below 1024 need privileges); choose another --listen`,
    );
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new CofferError(
      'USAGE',
      `--listen ${address}: ${host} is not an address of this machine; use 0.0.0.0 or one of its addresses`,
    );
  }
  return error;
}

/** Fails as {@link listenError} says when `host:port` cannot be listened on; port 0 always can. */
export async function checkListenAddress(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, resolve);
    });
  } catch (error) {
    throw listenError(error, host, port);
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A failure to open the metadata database at `url` as one line (the password never shown). */
export function databaseError(error: unknown, url: string): unknown {
  const e = error as { code?: string; message?: string };
  if (url.startsWith('sqlite:')) {
    if (e.code === 'SQLITE_CANTOPEN') {
      return new CofferError('DB_UNAVAILABLE', `cannot open ${url.slice(7)}: ${e.message}`);
    }
    return error;
  }
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.slice(1)) || parsed.username;
  const server = `${parsed.hostname}:${parsed.port || 5432}`;
  switch (e.code) {
    case '3D000':
      return new CofferError(
        'DB_UNAVAILABLE',
        `PostgreSQL database "${database}" does not exist on ${server}: create it (createdb -h ${parsed.hostname} -U ${parsed.username || 'postgres'} ${database}) or fix --db`,
      );
    case '28P01':
    case '28000':
      return new CofferError(
        'DB_UNAVAILABLE',
        `PostgreSQL on ${server} refused the login of "${parsed.username}": check the user and password in --db`,
      );
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ETIMEDOUT':
      return new CofferError(
        'DB_UNAVAILABLE',
        `cannot reach PostgreSQL at ${server} (${e.code}): is it running, and is --db right?`,
      );
    default:
      return error;
  }
}
