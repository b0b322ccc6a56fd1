/**
 * @module @coffer/agent
 * The agent: vault client, backup, restore and verify engines, and the machine's registration.
 */
export {
  VaultClient,
  VaultError,
  VaultUnreachableError,
  type VaultClientOptions,
} from './client/vault-client.js';
export {
  CertificateMismatchError,
  certificateFingerprint,
  pinnedDispatcher,
} from './client/pinned-dispatcher.js';
export { BlobReader, MissingBlobError } from './client/blob-reader.js';
export {
  resolveConfigDir,
  loadAgent,
  saveAgent,
  isRegistered,
  writeFileAtomic,
  type AgentState,
  type LoadedAgent,
} from './config/agent-state.js';
export {
  Backup,
  type BackupOptions,
  type BackupProgress,
  type BackupResult,
  type BackupWarning,
} from './backup/backup.js';
export {
  Restore,
  type ConflictMode,
  type RestoreOptions,
  type RestoreProgress,
  type RestoreStats,
} from './restore/restore.js';
export {
  Verifier,
  type Damage,
  type PackDamage,
  type VerifierOptions,
  type VerifyReader,
  type VerifyResult,
} from './verify/verify.js';
export { resolvePoint } from './points.js';
export { PointTree, type PathTarget, type Visit } from './browse/point-tree.js';
export { Finder, NamePattern } from './browse/find.js';
export { CancelledError } from './cancelled.js';
export {
  STORED_KEYS_FILE,
  loadStoredKeys,
  removeStoredKeys,
  saveStoredKeys,
  storedKeysPath,
} from './config/stored-keys.js';
export { AgentDaemon, type DaemonOptions } from './daemon/daemon.js';
export { backoffDelay, type BackoffOptions } from './daemon/backoff.js';
export { jsonLog, type DaemonLog } from './daemon/log.js';
export { runAsJob, jobWarnings, type JobRun, type RunAsJobOptions } from './daemon/run-as-job.js';
export { backupOutcome, backupProgress } from './daemon/backup-job.js';
export { restoreOutcome, restoreProgress } from './daemon/restore-job.js';
export { UNIT_NAME, systemdUnit, unitPath, type UnitOptions } from './daemon/systemd-unit.js';
export {
  RunMarkers,
  endStaleRun,
  startManualBackup,
  type RunMarker,
} from './daemon/run-markers.js';
