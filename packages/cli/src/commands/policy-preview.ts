/**
 * @module commands/policy-preview
 * `coffer policy preview NAME [--days 365]`: which points the policy would keep after DAYS days
 * of its schedule's backups, all succeeding, starting now: the same schedule and retention
 * selection the vault runs (docs/retention.md §6), with why each point is kept.
 */
import { CofferError, MAX_PREVIEW_DAYS, previewRetention } from '@coffer/core';
import { printJson, printLines } from '../output.js';
import { findPolicy, withScope } from '../scope.js';
import type { PolicyListOptions } from './policy-list.js';

export interface PolicyPreviewOptions extends PolicyListOptions {
  days?: string;
}

/** Prints what a policy keeps after `--days` days. */
export async function policyPreview(name: string, options: PolicyPreviewOptions): Promise<number> {
  const days = Number(options.days ?? '365');
  if (!/^\d+$/.test(options.days ?? '365') || days < 1 || days > MAX_PREVIEW_DAYS) {
    throw new CofferError('USAGE', `--days must be 1 to ${MAX_PREVIEW_DAYS}, got ${options.days}`);
  }
  return withScope(options, async (scope) => {
    const policy = await findPolicy(scope, name);
    const preview = previewRetention(policy.spec, Date.now(), days);
    const zone = policy.spec.schedule.timeZone;
    const points = preview.points.map((p) => ({
      time: new Date(p.time).toISOString(),
      reasons: p.reasons,
    }));
    if (options.json) printJson({ policyId: policy.id, days, total: preview.total, points });
    else
      printLines(
        `After ${days} day(s) of backups, policy ${policy.name} keeps ${preview.total} point(s):`,
        ...preview.points.map(
          (p) =>
            `  ${new Date(p.time).toLocaleString('sv-SE', { timeZone: zone, weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })}  ${p.reasons.join(', ')}`,
        ),
      );
    return 0;
  });
}
