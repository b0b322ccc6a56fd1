import { describe, expect, it } from 'vitest';
import {
  DEFAULT_KDF,
  UnsupportedError,
  WeakPassphraseError,
  WrongPassphraseError,
  checkPassphrase,
  createKeyring,
  openKeyring,
  parseKeyring,
  rewrapKeyring,
} from '../src/index.js';

const FAST = { N: 1024, r: 8, p: 1 };
const PASS = 'correct horse battery staple';

describe('keyrings', () => {
  it('refuses passphrases under 16 characters, saying why', () => {
    expect(() => checkPassphrase('fifteen chars!!')).toThrow(WeakPassphraseError);
    expect(() => checkPassphrase('fifteen chars!!')).toThrow(/at least 16 characters/);
    expect(() => checkPassphrase('sixteen chars!!!')).not.toThrow();
    // Code points, not UTF-16 units: 16 emoji are 16 characters.
    expect(() => checkPassphrase('🔑'.repeat(16))).not.toThrow();
  });

  it('opens with the right passphrase and says "wrong passphrase" otherwise', async () => {
    const { json, keys } = await createKeyring(PASS, { kdf: FAST });
    const opened = await openKeyring(JSON.stringify(json), PASS);
    expect(opened.encryptionKey.equals(keys.encryptionKey)).toBe(true);
    expect(opened.idKey.equals(keys.idKey)).toBe(true);
    await expect(openKeyring(json, 'an entirely different one')).rejects.toThrow(
      WrongPassphraseError,
    );
    await expect(openKeyring(json, 'an entirely different one')).rejects.toThrow(
      /wrong passphrase/,
    );
  });

  it('rewraps the same keys for a new passphrase', async () => {
    const { json, keys } = await createKeyring(PASS, { kdf: FAST });
    const rewrapped = await rewrapKeyring(json, PASS, 'a brand new long passphrase');
    expect(rewrapped.id).toBe(json.id);
    expect(rewrapped.kdf.salt).not.toBe(json.kdf.salt);
    const opened = await openKeyring(rewrapped, 'a brand new long passphrase');
    expect(opened.idKey.equals(keys.idKey)).toBe(true);
    await expect(openKeyring(rewrapped, PASS)).rejects.toThrow(WrongPassphraseError);
  });

  it('records the default scrypt parameters', async () => {
    expect(DEFAULT_KDF).toEqual({ N: 2 ** 15, r: 8, p: 3 });
  });

  it('refuses hostile or unknown parameters before deriving anything', async () => {
    const { json } = await createKeyring(PASS, { kdf: FAST });
    const variants: [string, (j: Record<string, unknown>) => void][] = [
      ['huge N', (j) => ((j.kdf as Record<string, unknown>).N = 2 ** 30)],
      ['N not a power of two', (j) => ((j.kdf as Record<string, unknown>).N = 1000)],
      ['huge r', (j) => ((j.kdf as Record<string, unknown>).r = 1000)],
      ['unknown kdf', (j) => ((j.kdf as Record<string, unknown>).name = 'argon3')],
      ['unknown cipher', (j) => ((j.algorithms as Record<string, unknown>).cipher = 'ROT13')],
      ['version 2', (j) => (j.version = 2)],
    ];
    for (const [, change] of variants) {
      const copy = JSON.parse(JSON.stringify(json)) as Record<string, unknown>;
      change(copy);
      expect(() => parseKeyring(JSON.stringify(copy))).toThrow(UnsupportedError);
    }
    expect(() => parseKeyring('{"format":"coffer-keyring"}')).toThrow(/lacks/);
    expect(() => parseKeyring('x'.repeat(70_000))).toThrow(/larger than/);
  });
});
