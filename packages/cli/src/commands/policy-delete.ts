/**
 * @module commands/policy-delete
 * `coffer policy delete NAME`: only a policy no item uses.
 */
import { printJson, printLines } from '../output.js';
import { findPolicy, withScope } from '../scope.js';
import type { PolicyListOptions } from './policy-list.js';

/** `coffer policy delete NAME`. */
export async function policyDelete(name: string, options: PolicyListOptions): Promise<number> {
  return withScope(options, async (scope) => {
    const policy = await findPolicy(scope, name);
    await scope.client.deletePolicy(policy.id);
    if (options.json) printJson({ deleted: policy.id, name: policy.name });
    else printLines(`Deleted policy ${policy.name} (${policy.id}).`);
    return 0;
  });
}
