/**
 * @module errors
 * The error classes every Coffer package throws. Each carries a stable `code` (listed in
 * docs/errors.md) so the vault can map it to an HTTP status and the CLI to an exit status.
 */

/** Base of every error Coffer raises on purpose; `code` is stable across versions. */
export class CofferError extends Error {
  readonly code: string;
  /** True when the same call may succeed if tried again (network, busy, lock). */
  readonly transient: boolean;

  constructor(code: string, message: string, options?: { cause?: unknown; transient?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.transient = options?.transient ?? false;
  }
}

/** Input bytes do not follow docs/format.md (truncated, out of bounds, unknown version...). */
export class FormatError extends CofferError {
  constructor(what: string, message: string, options?: { cause?: unknown }) {
    super('FORMAT_INVALID', `${what}: ${message}`, options);
  }
}

/** Stored data failed an integrity check: authentication tag, id, hash or length mismatch. */
export class IntegrityError extends CofferError {
  /** The blob or pack id (hex) the failure is about, when known. */
  readonly subject: string | undefined;

  constructor(message: string, options?: { subject?: string; cause?: unknown }) {
    super('INTEGRITY', message, options);
    this.subject = options?.subject;
  }
}

/** The passphrase does not open the keyring. */
export class WrongPassphraseError extends CofferError {
  constructor(options?: { cause?: unknown }) {
    super(
      'WRONG_PASSPHRASE',
      'wrong passphrase: it does not open this keyring (check it and try again)',
      options,
    );
  }
}

/** The passphrase is refused before use (too short). */
export class WeakPassphraseError extends CofferError {
  constructor(message: string) {
    super('PASSPHRASE_TOO_SHORT', message);
  }
}

/** The named thing does not exist. */
export class NotFoundError extends CofferError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOT_FOUND', message, options);
  }
}

/** The named thing exists already and may not be replaced. */
export class AlreadyExistsError extends CofferError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ALREADY_EXISTS', message, options);
  }
}

/** An algorithm or parameter named in stored data is not one this version knows. */
export class UnsupportedError extends CofferError {
  constructor(message: string) {
    super('UNSUPPORTED', message);
  }
}
