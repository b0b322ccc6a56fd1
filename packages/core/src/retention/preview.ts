/**
 * @module retention/preview
 * What a policy would keep after some days of its schedule's backups, all succeeding: the
 * schedule and the retention selection the vault really runs, on simulated points.
 */
import { DateTime } from 'luxon';
import { PolicyError } from '../policy/policy-error.js';
import { validatePolicy, type PolicySpec } from '../policy/policy.js';
import { slotsBetween } from '../policy/schedule.js';
import { selectRetention, type KeepReason } from './select.js';

/** The longest preview: a hundred years, enough to see a 99-year yearly rule at work. */
export const MAX_PREVIEW_DAYS = 36_525;

export interface RetentionPreview {
  /** The kept points, newest first, with their reasons. */
  points: { time: number; reasons: KeepReason[] }[];
  total: number;
}

/**
 * What `policy` would keep after `days` local days of its schedule's backups starting at `now`
 * (for `coffer policy preview`): the kept points, newest first, with their reasons, and the count.
 * @example previewRetention(policy, Date.now(), 365).total
 */
export function previewRetention(policy: PolicySpec, now: number, days: number): RetentionPreview {
  validatePolicy(policy);
  if (!Number.isFinite(now))
    throw new RangeError(`now must be a finite epoch time in ms, got ${now}`);
  if (!Number.isInteger(days) || days < 1 || days > MAX_PREVIEW_DAYS) {
    throw new PolicyError(
      'days',
      `${JSON.stringify(days)} is out of range; allowed 1 to ${MAX_PREVIEW_DAYS}`,
    );
  }
  const { timeZone } = policy.schedule;
  const end = DateTime.fromMillis(now, { zone: timeZone }).plus({ days }).toMillis();
  const slots = slotsBetween(policy.schedule, now, end);
  const candidates = slots.map((time, i) => ({
    id: String(i),
    time,
    outcome: 'succeeded' as const,
  }));
  const { keep } = selectRetention(policy.retention, timeZone, candidates, end);
  const points = [...keep]
    .map(([id, reasons]) => ({ time: slots[Number(id)]!, reasons }))
    .reverse();
  return { points, total: points.length };
}
