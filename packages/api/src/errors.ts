/**
 * @module errors
 * The error body every route returns and the stable codes it may carry (docs/errors.md).
 */
import { Type, type Static } from 'typebox';

/** Stable error codes on the wire, each with the HTTP status the vault answers with. */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  FORMAT_INVALID: 400,
  INTEGRITY: 422,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  CREDENTIALS_EXPIRED: 410,
  CREDENTIALS_USED: 410,
  CLOSURE_INCOMPLETE: 409,
  VAULT_NOT_EMPTY: 409,
  LAST_OWNER_TOKEN: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INVALID_RANGE: 416,
  PACK_MISSING: 404,
  PACK_DAMAGED: 422,
  STORAGE_FULL: 507,
  UNSUPPORTED: 400,
  POLICY_INVALID: 400,
  IN_USE: 409,
  JOB_STATE: 409,
  ALREADY_RUNNING: 409,
  IMMUTABLE: 409,
  INTERNAL: 500,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    /** For CLOSURE_INCOMPLETE: the first missing ids (hex). */
    missing: Type.Optional(Type.Array(Type.String())),
  }),
});
export type ErrorBody = Static<typeof ErrorBody>;
