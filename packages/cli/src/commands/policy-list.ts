/**
 * @module commands/policy-list
 * `coffer policy list` and `coffer policy show NAME`.
 */
import { printJson, printLines } from '../output.js';
import { findPolicy, withScope, type ScopeOptions } from '../scope.js';
import { describePolicy } from './policy-spec.js';

export interface PolicyListOptions extends ScopeOptions {
  json?: boolean;
}

/** `coffer policy list`. */
export async function policyList(options: PolicyListOptions): Promise<number> {
  return withScope(options, async (scope) => {
    const result = await scope.client.listPolicies(scope.vaultId);
    if (options.json) printJson(result);
    else if (result.policies.length === 0) {
      printLines('No policies yet: npx coffer policy create NAME --times 02:00 --daily 30');
    } else {
      for (const p of result.policies) {
        printLines(
          `${p.name}  (${p.id}, ${p.items} item${p.items === 1 ? '' : 's'})`,
          ...describePolicy(p.spec).map((l) => `  ${l}`),
        );
      }
    }
    return 0;
  });
}

/** `coffer policy show NAME`. */
export async function policyShow(name: string, options: PolicyListOptions): Promise<number> {
  return withScope(options, async (scope) => {
    const policy = await findPolicy(scope, name);
    if (options.json) printJson(policy);
    else
      printLines(
        `Policy ${policy.name} (${policy.id}), used by ${policy.items} item${policy.items === 1 ? '' : 's'}`,
        ...describePolicy(policy.spec).map((l) => `  ${l}`),
        `  Changed ${policy.updatedAt}`,
      );
    return 0;
  });
}
