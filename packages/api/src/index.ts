/**
 * @module @coffer/api
 * The HTTP contract shared by the vault, the agent and the portal: routes, schemas, error codes.
 */
export * from './errors.js';
export * from './common.js';
export * from './roles.js';
export * from './tenancy.js';
export * from './backup.js';
export * from './restore.js';
export * from './policies.js';
export * from './items.js';
export * from './jobs.js';
export * from './gc.js';
export * from './routes.js';
export * from './audit.js';
export * from './alerts.js';
export * from './history.js';
