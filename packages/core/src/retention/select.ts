/**
 * @module retention/select
 * Which recovery points of one item a retention rule keeps, and why: the pure function the vault's
 * expiry runs. docs/retention.md is its contract; the tests follow that document.
 */
import { validateRetention, type Retention } from '../policy/policy.js';
import { ZoneClock } from '../policy/zone.js';
import { monthPeriod, weekPeriod, yearPeriod } from './periods.js';

/**
 * Why a point is kept. 'future': committed after `now` (the vault's clock went backwards), so
 * nothing is decided about it yet.
 */
export type KeepReason = 'newest' | 'last' | 'daily' | 'weekly' | 'monthly' | 'yearly' | 'future';

/** The order reasons are listed in, within one point's list. */
export const KEEP_REASONS: readonly KeepReason[] = [
  'newest',
  'last',
  'daily',
  'weekly',
  'monthly',
  'yearly',
  'future',
];

export interface RetentionCandidate {
  id: string;
  /** when the vault committed it (epoch ms) — the vault's clock, never the agent's */
  time: number;
  outcome: 'succeeded' | 'warnings' | 'failed';
}

export interface RetentionDecision {
  /** Kept points with their reasons, oldest first. */
  keep: Map<string, KeepReason[]>;
  /** Points to expire, oldest first. */
  expire: string[];
}

const OUTCOMES = new Set(['succeeded', 'warnings', 'failed']);
const BIT = Object.fromEntries(KEEP_REASONS.map((r, i) => [r, 1 << i])) as Record<
  KeepReason,
  number
>;

/**
 * Which points of one item a retention rule keeps at `now`, reasoning in `timeZone`. Pure and
 * stateless: the answer depends only on the arguments, so a policy change applies to existing
 * points and running it daily keeps the same points as running it once.
 * @example selectRetention({ daily: { days: 7 } }, 'Europe/Paris', points, vaultNow).expire
 */
export function selectRetention(
  retention: Retention,
  timeZone: string,
  points: readonly RetentionCandidate[],
  now: number,
): RetentionDecision {
  validateRetention(retention);
  const clock = new ZoneClock(timeZone);
  if (!Number.isFinite(now))
    throw new RangeError(`now must be a finite epoch time in ms, got ${now}`);
  const sorted = checkedAndSorted(points);
  const reasons = new Uint8Array(sorted.length);
  const good: number[] = [];
  for (const [i, p] of sorted.entries()) if (p.outcome !== 'failed') good.push(i);

  if (good.length > 0) reasons[good[good.length - 1]!]! |= BIT.newest;
  if (retention.keepLast !== undefined) {
    for (const i of good.slice(-retention.keepLast)) reasons[i]! |= BIT.last;
  }
  const today = clock.localDay(now);
  const { daily } = retention;
  const tiers = periodTiers(retention, today);
  let lastDay = Number.NaN;
  for (const i of good) {
    const { time } = sorted[i]!;
    const day = clock.localDay(time);
    let bits = time > now ? BIT.future : 0;
    if (daily && day <= today && today - day < daily.days) bits |= BIT.daily;
    // Points of one local day share their periods, filled by the first of them already.
    if (day !== lastDay) {
      lastDay = day;
      for (const tier of tiers) {
        const period = tier.periodOf(day);
        if (tier.filled.has(period)) continue;
        tier.filled.add(period);
        const age = tier.current - period;
        if (age >= 0 && age < tier.count) bits |= tier.bit;
      }
    }
    reasons[i]! |= bits;
  }

  const keep = new Map<string, KeepReason[]>();
  const expire: string[] = [];
  for (const [i, p] of sorted.entries()) {
    const bits = reasons[i]!;
    if (bits === 0) expire.push(p.id);
    else
      keep.set(
        p.id,
        KEEP_REASONS.filter((r) => bits & BIT[r]),
      );
  }
  return { keep, expire };
}

/** A rule that keeps the first successful point of each of its last `count` periods. */
interface Tier {
  bit: number;
  count: number;
  /** A day's period as a number that grows by one from each period to the next. */
  periodOf: (dayNo: number) => number;
  /** The period of today. */
  current: number;
  /** Periods whose first successful point has been seen. */
  filled: Set<number>;
}

function periodTiers(retention: Retention, today: number): Tier[] {
  const tiers: Tier[] = [];
  const add = (bit: number, count: number, periodOf: (dayNo: number) => number) =>
    tiers.push({ bit, count, periodOf, current: periodOf(today), filled: new Set() });
  const { weekly, monthly, yearly } = retention;
  if (weekly) add(BIT.weekly, weekly.weeks, (d) => Math.floor(weekPeriod(d, weekly.weekday) / 7));
  if (monthly) add(BIT.monthly, monthly.months, (d) => monthPeriod(d, monthly.on));
  if (yearly) add(BIT.yearly, yearly.years, (d) => yearPeriod(d, yearly.month, yearly.on));
  return tiers;
}

/** The points ordered by commit time, then id (so ties decide the same way every time). */
function checkedAndSorted(points: readonly RetentionCandidate[]): RetentionCandidate[] {
  const ids = new Set<string>();
  for (const p of points) {
    if (typeof p.id !== 'string')
      throw new TypeError(`point id must be a string, got ${typeof p.id}`);
    if (!Number.isFinite(p.time))
      throw new RangeError(`point ${p.id}: time must be finite epoch ms`);
    if (!OUTCOMES.has(p.outcome))
      throw new TypeError(`point ${p.id}: unknown outcome ${String(p.outcome)}`);
    if (ids.has(p.id)) throw new TypeError(`point ${p.id} is listed twice`);
    ids.add(p.id);
  }
  return [...points].sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
