/**
 * @module commands/policy-create
 * `coffer policy create NAME` and `coffer policy set NAME`: a policy's schedule and retention
 * from flags; a change applies to every item that uses the policy.
 */
import type { Policy } from '@coffer/api';
import { printJson, printLines } from '../output.js';
import { findPolicy, withScope, type ScopeOptions } from '../scope.js';
import { describePolicy, policySpec, type PolicyFlags } from './policy-spec.js';

export interface PolicyCommandOptions extends ScopeOptions, PolicyFlags {
  json?: boolean;
}

function show(verb: string, policy: Policy, json: boolean | undefined): void {
  if (json) printJson(policy);
  else
    printLines(
      `${verb} policy ${policy.name} (${policy.id}).`,
      ...describePolicy(policy.spec).map((line) => `  ${line}`),
    );
}

/** `coffer policy create NAME`. */
export async function policyCreate(name: string, options: PolicyCommandOptions): Promise<number> {
  const spec = policySpec(options);
  return withScope(options, async (scope) => {
    const policy = await scope.client.createPolicy(scope.vaultId, name, spec);
    show('Created', policy, options.json);
    if (!options.json) {
      printLines(
        `Next, on a machine: npx coffer protect PATH... --item NAME --policy ${policy.name}`,
      );
    }
    return 0;
  });
}

/** `coffer policy set NAME`: changes the given parts, keeps the rest. */
export async function policySet(name: string, options: PolicyCommandOptions): Promise<number> {
  return withScope(options, async (scope) => {
    const current = await findPolicy(scope, name);
    const spec = policySpec(options, current.spec);
    const policy = await scope.client.updatePolicy(current.id, spec);
    show('Changed', policy, options.json);
    return 0;
  });
}
