/**
 * @module audit/actions
 * Short action names for audit entries (`token.create`), so a reader need not decode routes.
 * Routes missing from the table get a name made from their path and method.
 */
import { ROUTES } from '@coffer/api';

const NAMED: Record<string, string> = {
  [`POST ${ROUTES.tenants}`]: 'tenant.create',
  [`POST ${ROUTES.tokens}`]: 'token.create',
  [`POST ${ROUTES.vaults}`]: 'vault.create',
  [`POST ${ROUTES.vaultCredentials}`]: 'credentials.create',
  [`POST ${ROUTES.agentGrants}`]: 'grant.create',
  [`POST ${ROUTES.register}`]: 'agent.register',
  [`POST ${ROUTES.agentLocate}`]: 'blobs.locate',
  [`POST ${ROUTES.blobsExist}`]: 'blobs.exists',
  [`PUT ${ROUTES.packUpload}`]: 'pack.upload',
  [`POST ${ROUTES.points}`]: 'point.commit',
  [`POST ${ROUTES.alertAck}`]: 'alert.ack',
  [`PUT ${ROUTES.vaultNotify}`]: 'notify.set',
  [`POST ${ROUTES.vaultNotifyTest}`]: 'notify.test',
  [`POST ${ROUTES.vaultPolicies}`]: 'policy.create',
  [`PUT ${ROUTES.policy}`]: 'policy.update',
  [`DELETE ${ROUTES.policy}`]: 'policy.delete',
  [`POST ${ROUTES.agentItems}`]: 'item.protect',
  [`PATCH ${ROUTES.item}`]: 'item.policy',
  [`POST ${ROUTES.itemBackup}`]: 'backup.now',
  [`POST ${ROUTES.agentRestores}`]: 'restore.request',
  [`POST ${ROUTES.agentJobs}`]: 'job.manual',
  [`POST ${ROUTES.jobCancel}`]: 'job.cancel',
  [`POST ${ROUTES.vaultGc}`]: 'gc.run',
  [`POST ${ROUTES.jobClaim}`]: 'job.claim',
  [`POST ${ROUTES.jobFinish}`]: 'job.finish',
  [`DELETE ${ROUTES.vaultPoint}`]: 'point.delete',
  [`POST ${ROUTES.vaultPointUndelete}`]: 'point.undelete',
  [`PATCH ${ROUTES.vaultSettings}`]: 'vault.settings',
  [`POST ${ROUTES.vaultExpire}`]: 'expire.now',
  [`POST ${ROUTES.itemStop}`]: 'protection.stop',
};

const VERBS: Record<string, string> = {
  POST: 'create',
  PUT: 'put',
  PATCH: 'update',
  DELETE: 'delete',
};

/**
 * The action name of `method route` (a route pattern), e.g. `token.create`; for a route the
 * table does not know, its last fixed path segment and a verb (`points.delete`).
 */
export function actionName(method: string, route: string | undefined): string {
  if (route === undefined) return 'unknown-route';
  const named = NAMED[`${method} ${route}`];
  if (named) return named;
  const fixed = route.split('/').filter((s) => s !== '' && s !== 'v1' && !s.startsWith(':'));
  return `${fixed.at(-1) ?? 'root'}.${VERBS[method] ?? method.toLowerCase()}`;
}
