/**
 * @module tls
 * The vault's TLS identity: a self-signed certificate made on first start, whose SHA-256
 * fingerprint agents pin (DESIGN.md §2). A real certificate can replace the two files.
 */
import { X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import selfsigned from 'selfsigned';

export interface TlsIdentity {
  key: string;
  cert: string;
  /** SHA-256 of the certificate's DER bytes, lowercase hex without separators. */
  fingerprint: string;
}

/** Lowercase hex SHA-256 fingerprint of a PEM certificate. */
export function certificateFingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256.replaceAll(':', '').toLowerCase();
}

/** Loads DIR/tls/{key,cert}.pem, creating a self-signed pair valid for 10 years if absent. */
export async function ensureTlsIdentity(tlsDir: string): Promise<TlsIdentity> {
  const keyPath = join(tlsDir, 'key.pem');
  const certPath = join(tlsDir, 'cert.pem');
  try {
    const [key, cert] = await Promise.all([readFile(keyPath, 'utf8'), readFile(certPath, 'utf8')]);
    return { key, cert, fingerprint: certificateFingerprint(cert) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const notAfter = new Date();
  notAfter.setFullYear(notAfter.getFullYear() + 10);
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'coffer-vault' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: notAfter,
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  await writeFile(keyPath, pems.private, { mode: 0o600, flag: 'wx' });
  await writeFile(certPath, pems.cert, { mode: 0o644, flag: 'wx' });
  return { key: pems.private, cert: pems.cert, fingerprint: certificateFingerprint(pems.cert) };
}
