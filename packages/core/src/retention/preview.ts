/**
 * @module retention/preview
 * What a policy would keep after some days of its schedule's backups, all succeeding: the
 * schedule and the retention selection the vault really runs, on simulated points.
 */
import { DateTime } from 'luxon';
import { PolicyError } from '../policy/policy-error.js';
import { validatePolicy, type PolicySpec } from '../policy/policy.js';
import { slotsBetween } from '../policy/schedule.js';
import { selectRetention, type KeepReason, type RetentionCandidate } from './select.js';

/** The longest preview: a hundred years, enough to see a 99-year yearly rule at work. */
export const MAX_PREVIEW_DAYS = 36_525;
const CHUNK_MS = 366 * 86_400_000;

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
  const { schedule, retention } = policy;
  const end = DateTime.fromMillis(now, { zone: schedule.timeZone }).plus({ days }).toMillis();
  // Expire once per simulated year, as the vault expires as time passes: with commit times
  // ascending that keeps what one expiry at the end keeps, in memory bounded by a year of slots.
  let stored: RetentionCandidate[] = [];
  let count = 0;
  for (let from = now; from < end;) {
    const to = Math.min(end, from + CHUNK_MS);
    for (const time of slotsBetween(schedule, from, to)) {
      stored.push({ id: String(count++), time, outcome: 'succeeded' });
    }
    const { keep } = selectRetention(retention, schedule.timeZone, stored, to);
    stored = stored.filter((p) => keep.has(p.id));
    from = to;
  }
  const { keep } = selectRetention(retention, schedule.timeZone, stored, end);
  const times = new Map(stored.map((p) => [p.id, p.time]));
  const points = [...keep].map(([id, reasons]) => ({ time: times.get(id)!, reasons })).reverse();
  return { points, total: points.length };
}
