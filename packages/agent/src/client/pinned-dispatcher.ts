/**
 * @module client/pinned-dispatcher
 * An undici dispatcher that trusts exactly one TLS certificate, named by its SHA-256
 * fingerprint (the vault's self-signed certificate, DESIGN.md §2), and nothing else.
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import { CofferError } from '@coffer/core';

/** Connection-level failure to trust the vault; never retried. */
export class CertificateMismatchError extends CofferError {
  constructor(expected: string, actual: string) {
    super(
      'CERTIFICATE_MISMATCH',
      `the vault's TLS certificate (sha256 ${actual}) is not the pinned one (${expected}); ` +
        'if the vault got a new certificate, re-register this machine or pass --fingerprint',
    );
  }
}

/** Lowercase hex SHA-256 of a PEM certificate's DER bytes: the fingerprint agents pin. */
export function certificateFingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256.replaceAll(':', '').toLowerCase();
}

/** A dispatcher whose TLS connections succeed only to a certificate with this fingerprint. */
export function pinnedDispatcher(fingerprint: string, connections = 8): Agent {
  const expected = fingerprint.replaceAll(':', '').toLowerCase();
  // Chain validation is off because the certificate is self-signed; the pin replaces it.
  // No TLS session resumption: a resumed session does not show the peer certificate.
  const base = buildConnector({ rejectUnauthorized: false, maxCachedSessions: 0 });
  const connect: buildConnector.connector = (options, callback) => {
    base(options, (error, socket) => {
      if (error || !socket) {
        callback(error ?? new Error('connection failed'), null);
        return;
      }
      const cert = (socket as TLSSocket).getPeerCertificate?.();
      const actual = (cert?.fingerprint256 ?? '').replaceAll(':', '').toLowerCase();
      if (actual !== expected) {
        socket.destroy();
        callback(new CertificateMismatchError(expected, actual || 'none'), null);
        return;
      }
      callback(null, socket);
    });
  };
  return new Agent({ connect, connections, keepAliveTimeout: 30_000 });
}
