/**
 * @module tenancy
 * Tenants, tenant users (tokens with roles), vaults, registration credentials and grants.
 */
import { Type, type Static } from 'typebox';
import { EntityId, Name, Timestamp } from './common.js';
import { Role } from './roles.js';

export const Tenant = Type.Object({ id: EntityId, name: Name, createdAt: Timestamp });
export type Tenant = Static<typeof Tenant>;

export const TenantList = Type.Object({ tenants: Type.Array(Tenant) });
export type TenantList = Static<typeof TenantList>;

export const CreateTenantRequest = Type.Object({ name: Name }, { additionalProperties: false });
export const CreateTenantResponse = Type.Object({ tenant: Tenant, token: Type.String() });
export type CreateTenantResponse = Static<typeof CreateTenantResponse>;

/** Longest lifetime a user token may be given (ten years); without one it never expires. */
export const MAX_TOKEN_LIFETIME_SECONDS = 10 * 365 * 86400;

export const CreateTokenRequest = Type.Object(
  {
    name: Name,
    role: Role,
    /** Counted by the vault's clock from creation; absent: until revoked. */
    expiresInSeconds: Type.Optional(
      Type.Integer({ minimum: 60, maximum: MAX_TOKEN_LIFETIME_SECONDS }),
    ),
  },
  { additionalProperties: false },
);
export type CreateTokenRequest = Static<typeof CreateTokenRequest>;

/** A tenant user token as listed (never the secret itself). */
export const TokenInfo = Type.Object({
  id: EntityId,
  name: Name,
  role: Role,
  createdAt: Timestamp,
  expiresAt: Type.Optional(Timestamp),
  revokedAt: Type.Optional(Timestamp),
});
export type TokenInfo = Static<typeof TokenInfo>;
export const TokenList = Type.Object({ tokens: Type.Array(TokenInfo) });
export type TokenList = Static<typeof TokenList>;

export const CreateTokenResponse = Type.Object({
  ...TokenInfo.properties,
  /** The bearer token, shown once. */
  token: Type.String(),
});
export type CreateTokenResponse = Static<typeof CreateTokenResponse>;

export const Vault = Type.Object({
  id: EntityId,
  tenantId: EntityId,
  name: Name,
  createdAt: Timestamp,
});
export type Vault = Static<typeof Vault>;
export const CreateVaultRequest = Type.Object({ name: Name }, { additionalProperties: false });
export const VaultList = Type.Object({ vaults: Type.Array(Vault) });
export type VaultList = Static<typeof VaultList>;

/** How long a registration file stays valid. */
export const CREDENTIALS_LIFETIME_MS = 48 * 3600 * 1000;

/** A keyring id: 32 lowercase hex digits. */
export const KeyringId = Type.String({ pattern: '^[0-9a-f]{32}$' });
/** Base64 of a keyring's 32-byte Ed25519 join public key (format.md §3.2). */
export const JoinKey = Type.String({ pattern: '^[A-Za-z0-9+/]{43}=$' });
/** Base64 of a 64-byte Ed25519 join signature (format.md §3.2). */
export const JoinProof = Type.String({ pattern: '^[A-Za-z0-9+/]{86}==$' });

/** Optional body of a credentials request. */
export const CreateCredentialsRequest = Type.Object(
  {
    /** Let the machine join this keyring of the vault without proving it holds its keys. */
    joinKeyring: Type.Optional(KeyringId),
  },
  { additionalProperties: false },
);
export type CreateCredentialsRequest = Static<typeof CreateCredentialsRequest>;

/** The vault credentials file: registers one machine into one vault, once, within 48 hours. */
export const VaultCredentials = Type.Object({
  format: Type.Literal('coffer-vault-credentials'),
  version: Type.Literal(1),
  url: Type.String({ maxLength: 2048 }),
  /** SHA-256 of the vault's TLS certificate (DER), hex; the agent pins it. */
  fingerprint: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  tenantId: EntityId,
  vaultId: EntityId,
  vaultName: Name,
  secret: Type.String({ minLength: 20, maxLength: 200 }),
  expiresAt: Timestamp,
  /** Set when a tenant user allowed these credentials to join this keyring. */
  joinKeyringId: Type.Optional(KeyringId),
});
export type VaultCredentials = Static<typeof VaultCredentials>;

export const Agent = Type.Object({
  id: EntityId,
  vaultId: EntityId,
  name: Name,
  hostname: Type.String({ maxLength: 255 }),
  keyringId: KeyringId,
  createdAt: Timestamp,
  /** Set once a tenant user removed the machine: its token no longer works, its points stay. */
  removedAt: Type.Optional(Timestamp),
  /** When the agent's daemon last polled the vault for work. */
  lastContactAt: Type.Optional(Timestamp),
  /** The program version it reported then. */
  version: Type.Optional(Type.String()),
  /** Polled within the last ONLINE_WINDOW_MS. */
  online: Type.Boolean(),
});
export type Agent = Static<typeof Agent>;
export const AgentList = Type.Object({ agents: Type.Array(Agent) });
export type AgentList = Static<typeof AgentList>;

/** Lets `grantee` read the points of the agent in the path (cross-machine restore). */
export const CreateGrantRequest = Type.Object(
  { grantee: EntityId },
  { additionalProperties: false },
);

export const RegisterRequest = Type.Object(
  {
    secret: Type.String({ minLength: 20, maxLength: 200 }),
    name: Name,
    hostname: Type.String({ maxLength: 255 }),
    /** The agent's keyring JSON (wrapped keys only). */
    keyring: Type.String({ maxLength: 65536 }),
    /** A new keyring's join public key, which the vault keeps (format.md §3.2). */
    joinKey: Type.Optional(JoinKey),
    /** Joining an existing keyring: the join key's signature of this registration. */
    joinProof: Type.Optional(JoinProof),
  },
  { additionalProperties: false },
);
export type RegisterRequest = Static<typeof RegisterRequest>;
export const RegisterResponse = Type.Object({
  agent: Agent,
  token: Type.String(),
  vault: Vault,
});
export type RegisterResponse = Static<typeof RegisterResponse>;

/** Who the presented token is. */
export const WhoAmI = Type.Object({
  kind: Type.Union([Type.Literal('admin'), Type.Literal('user'), Type.Literal('agent')]),
  tenantId: Type.Optional(EntityId),
  role: Type.Optional(Role),
  agent: Type.Optional(Agent),
});
export type WhoAmI = Static<typeof WhoAmI>;

export const KeyringResponse = Type.Object({
  keyringId: Type.String(),
  keyring: Type.String(),
});
export type KeyringResponse = Static<typeof KeyringResponse>;
