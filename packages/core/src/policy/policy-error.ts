/**
 * @module policy/policy-error
 * The error a policy, schedule or retention rule that means nothing sensible raises.
 */
import { CofferError } from '../errors.js';

/** A policy field is invalid; `field` names it ("schedule.times", "retention.daily.days"). */
export class PolicyError extends CofferError {
  readonly field: string;

  constructor(field: string, problem: string) {
    super('POLICY_INVALID', `${field}: ${problem}`);
    this.field = field;
  }
}
