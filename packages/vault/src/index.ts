/**
 * @module @coffer/vault
 * The vault service: HTTP API, auth and metadata.
 */
export { buildServer, type ServerOptions } from './server.js';
export { startVault, readAdminToken, type ServeOptions, type RunningVault } from './serve.js';
export { openMetadataDb, type MetadataDb } from './db/connect.js';
export { resetAdminToken, type ResetAdminTokenOptions } from './admin-token.js';
export { certificateFingerprint, ensureTlsIdentity } from './tls.js';
export type { VaultContext } from './context.js';
