import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import {
  KEEP_REASONS,
  MONTHS,
  WEEKDAYS,
  selectRetention,
  type DayOfMonth,
  type KeepReason,
  type Retention,
  type RetentionCandidate,
  type RetentionDecision,
  type Weekday,
} from '../src/index.js';

const DAY = 86_400_000;
const ZONES = [
  'Europe/Paris',
  'America/Sao_Paulo',
  'Australia/Sydney',
  'Australia/Lord_Howe',
  'America/St_Johns',
  'Asia/Kathmandu',
  'Pacific/Kiritimati',
  'UTC',
];
const START = Date.parse('2016-01-01T00:00Z');

const arbDayOfMonth: fc.Arbitrary<DayOfMonth> = fc.oneof(
  fc.integer({ min: 1, max: 28 }).map((day) => ({ day })),
  fc.constant({ day: 'last' as const }),
  fc.record({
    weekday: fc.constantFrom(...WEEKDAYS),
    week: fc.constantFrom(
      'first' as const,
      'second' as const,
      'third' as const,
      'fourth' as const,
      'last' as const,
    ),
  }),
);

/** Retention rules with small counts, so that every rule's edge is reached by short histories. */
const arbRetention: fc.Arbitrary<Retention> = fc
  .record(
    {
      keepLast: fc.integer({ min: 1, max: 30 }),
      daily: fc.integer({ min: 7, max: 40 }).map((days) => ({ days })),
      weekly: fc.record({
        weeks: fc.integer({ min: 4, max: 12 }),
        weekday: fc.constantFrom(...WEEKDAYS),
      }),
      monthly: fc.record({ months: fc.integer({ min: 3, max: 14 }), on: arbDayOfMonth }),
      yearly: fc.record({
        years: fc.integer({ min: 1, max: 4 }),
        month: fc.constantFrom(...MONTHS),
        on: arbDayOfMonth,
      }),
    },
    { requiredKeys: [] },
  )
  .filter((r) => Object.keys(r).length > 0);

/** Points spread over up to `years` years from 2016, mostly successful, in random input order. */
function arbPoints(maxPoints: number, years: number): fc.Arbitrary<RetentionCandidate[]> {
  return fc
    .array(
      fc.record({
        time: fc.integer({ min: START, max: START + years * 365 * DAY }),
        outcome: fc.constantFrom(
          'succeeded',
          'succeeded',
          'succeeded',
          'warnings',
          'failed',
        ) as fc.Arbitrary<RetentionCandidate['outcome']>,
      }),
      { maxLength: maxPoints },
    )
    .map((points) => points.map((p, i) => ({ id: `p${i}`, ...p })));
}

const arbCase = fc.record({
  retention: arbRetention,
  zone: fc.constantFrom(...ZONES),
  points: arbPoints(250, 4),
  nowOffset: fc.integer({ min: -30 * DAY, max: 5 * 365 * DAY }),
});

describe('retention selection against a reference written from docs/retention.md', () => {
  it('agrees with a direct reading of the rules on random histories, zones and rules', () => {
    fc.assert(
      fc.property(arbCase, ({ retention, zone, points, nowOffset }) => {
        const now = START + nowOffset;
        const actual = selectRetention(retention, zone, points, now);
        expect(Object.fromEntries(actual.keep)).toEqual(reference(retention, zone, points, now));
      }),
      { numRuns: 400 },
    );
  });
});

describe('invariants', () => {
  it('partitions the input; keeps no failed point; always keeps the newest success', () => {
    fc.assert(
      fc.property(arbCase, ({ retention, zone, points, nowOffset }) => {
        const now = START + nowOffset;
        const decision = selectRetention(retention, zone, points, now);
        const ids = points.map((p) => p.id).sort();
        expect([...decision.keep.keys(), ...decision.expire].sort()).toEqual(ids);
        const byId = new Map(points.map((p) => [p.id, p]));
        for (const id of decision.keep.keys()) expect(byId.get(id)!.outcome).not.toBe('failed');
        const newest = newestSuccess(points);
        if (newest) expect(decision.keep.get(newest.id)).toContain('newest');
        for (const reasons of decision.keep.values()) {
          expect(reasons.length).toBeGreaterThan(0);
          expect(reasons).toEqual(KEEP_REASONS.filter((r) => reasons.includes(r)));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('is idempotent: the kept points, selected again, are all kept for the same reasons', () => {
    fc.assert(
      fc.property(arbCase, ({ retention, zone, points, nowOffset }) => {
        const now = START + nowOffset;
        const first = selectRetention(retention, zone, points, now);
        const again = selectRetention(
          retention,
          zone,
          points.filter((p) => first.keep.has(p.id)),
          now,
        );
        expect(again.expire).toEqual([]);
        expect([...again.keep]).toEqual([...first.keep]);
      }),
      { numRuns: 300 },
    );
  });

  it('does not depend on the order of the input', () => {
    fc.assert(
      fc.property(arbCase, fc.integer(), ({ retention, zone, points, nowOffset }, seed) => {
        const now = START + nowOffset;
        const shuffled = shuffle(points, seed);
        expect(flatten(selectRetention(retention, zone, shuffled, now))).toEqual(
          flatten(selectRetention(retention, zone, points, now)),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('is monotonic: a larger count in any rule keeps a superset', () => {
    const rules = ['keepLast', 'daily', 'weekly', 'monthly', 'yearly'] as const;
    fc.assert(
      fc.property(
        arbCase,
        fc.constantFrom(...rules),
        fc.integer({ min: 1, max: 30 }),
        ({ retention, zone, points, nowOffset }, rule, more) => {
          const now = START + nowOffset;
          const larger = grow(retention, rule, more);
          const small = selectRetention(retention, zone, points, now);
          const big = selectRetention(larger, zone, points, now);
          for (const id of small.keep.keys()) expect(big.keep.has(id)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('expiring as time passes keeps what one expiry at the end keeps (commit times ascending)', () => {
    fc.assert(
      fc.property(
        arbRetention,
        fc.constantFrom(...ZONES),
        arbPoints(150, 3),
        fc.integer({ min: 2, max: 20 }),
        (retention, zone, points, everyDays) => {
          const sorted = [...points].sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : 1));
          const end = START + 3 * 365 * DAY + DAY;
          let stored: RetentionCandidate[] = [];
          let next = 0;
          for (let now = START; now <= end; now += everyDays * DAY) {
            while (next < sorted.length && sorted[next]!.time <= now) stored.push(sorted[next++]!);
            const { keep } = selectRetention(retention, zone, stored, now);
            stored = stored.filter((p) => keep.has(p.id));
          }
          while (next < sorted.length) stored.push(sorted[next++]!);
          const kept = selectRetention(retention, zone, stored, end);
          const once = selectRetention(retention, zone, points, end);
          expect([...kept.keep.keys()]).toEqual([...once.keep.keys()]);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('holds over thousands of points', () => {
    fc.assert(
      fc.property(
        arbRetention,
        fc.constantFrom(...ZONES),
        arbPoints(5000, 30),
        fc.nat(),
        (retention, zone, points, at) => {
          const now = START + (at % (31 * 365)) * DAY;
          const decision = selectRetention(retention, zone, points, now);
          expect(decision.keep.size + decision.expire.length).toBe(points.length);
          const newest = newestSuccess(points);
          if (newest) expect(decision.keep.has(newest.id)).toBe(true);
          const again = selectRetention(
            retention,
            zone,
            points.filter((p) => decision.keep.has(p.id)),
            now,
          );
          expect(again.expire).toEqual([]);
          expect(Object.fromEntries(decision.keep)).toEqual(
            reference(retention, zone, points, now),
          );
        },
      ),
      { numRuns: 8 },
    );
  });
});

/**
 * The rules of docs/retention.md read literally, with luxon calendar arithmetic on local ISO dates
 * (an implementation independent of the one under test).
 */
function reference(
  retention: Retention,
  zone: string,
  points: readonly RetentionCandidate[],
  now: number,
): Record<string, KeepReason[]> {
  const good = points
    .filter((p) => p.outcome !== 'failed')
    .sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : 1));
  const reasons = new Map<string, Set<KeepReason>>();
  const add = (id: string, reason: KeepReason) => {
    if (!reasons.has(id)) reasons.set(id, new Set());
    reasons.get(id)!.add(reason);
  };
  const dateOf = (ms: number) =>
    DateTime.fromISO(DateTime.fromMillis(ms, { zone }).toISODate()!, { zone: 'utc' });
  const dated = good.map((p) => ({ p, date: dateOf(p.time) }));
  const today = dateOf(now);
  /** Keeps the first successful point in each period [start, end) of `periods`. */
  const firstIn = (periods: [DateTime, DateTime][], reason: KeepReason) => {
    for (const [start, end] of periods) {
      const first = dated.find(({ date }) => date >= start && date < end);
      if (first) add(first.p.id, reason);
    }
  };

  if (good.length > 0) add(good.at(-1)!.id, 'newest');
  if (retention.keepLast) for (const p of good.slice(-retention.keepLast)) add(p.id, 'last');
  if (retention.daily) {
    const from = today.minus({ days: retention.daily.days - 1 });
    for (const { p, date } of dated) if (date >= from && date <= today) add(p.id, 'daily');
  }
  if (retention.weekly) {
    const iso = WEEKDAYS.indexOf(retention.weekly.weekday) + 1;
    const current = today.minus({ days: (today.weekday - iso + 7) % 7 });
    const periods: [DateTime, DateTime][] = [];
    for (let k = 0; k < retention.weekly.weeks; k++) {
      const start = current.minus({ weeks: k });
      periods.push([start, start.plus({ weeks: 1 })]);
    }
    firstIn(periods, 'weekly');
  }
  if (retention.monthly) {
    const { on, months } = retention.monthly;
    let month = today.startOf('month');
    if (today < anchor(month, on)) month = month.minus({ months: 1 });
    const periods: [DateTime, DateTime][] = [];
    for (let k = 0; k < months; k++) {
      const m = month.minus({ months: k });
      periods.push([anchor(m, on), anchor(m.plus({ months: 1 }), on)]);
    }
    firstIn(periods, 'monthly');
  }
  if (retention.yearly) {
    const { on, years, month } = retention.yearly;
    const monthNo = MONTHS.indexOf(month) + 1;
    let year = today.year;
    if (today < anchor(DateTime.utc(year, monthNo, 1), on)) year -= 1;
    const periods: [DateTime, DateTime][] = [];
    for (let k = 0; k < years; k++) {
      periods.push([
        anchor(DateTime.utc(year - k, monthNo, 1), on),
        anchor(DateTime.utc(year - k + 1, monthNo, 1), on),
      ]);
    }
    firstIn(periods, 'yearly');
  }
  for (const p of good) if (p.time > now) add(p.id, 'future');
  return Object.fromEntries(
    [...reasons].map(([id, set]) => [id, KEEP_REASONS.filter((r) => set.has(r))]),
  );
}

/** The designated day of the month that starts at `month` (a UTC date at the 1st). */
function anchor(month: DateTime, on: DayOfMonth): DateTime {
  if ('day' in on)
    return on.day === 'last' ? month.endOf('month').startOf('day') : month.set({ day: on.day });
  const iso = WEEKDAYS.indexOf(on.weekday as Weekday) + 1;
  if (on.week === 'last') {
    let d = month.endOf('month').startOf('day');
    while (d.weekday !== iso) d = d.minus({ days: 1 });
    return d;
  }
  let d = month;
  while (d.weekday !== iso) d = d.plus({ days: 1 });
  return d.plus({ weeks: ['first', 'second', 'third', 'fourth'].indexOf(on.week) });
}

function newestSuccess(points: readonly RetentionCandidate[]): RetentionCandidate | undefined {
  return points
    .filter((p) => p.outcome !== 'failed')
    .sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : 1))
    .at(-1);
}

function grow(retention: Retention, rule: keyof Retention, more: number): Retention {
  const r = structuredClone(retention);
  if (rule === 'keepLast') r.keepLast = Math.min(9999, (r.keepLast ?? 0) + more);
  if (rule === 'daily' && r.daily) r.daily.days += more;
  if (rule === 'weekly' && r.weekly) r.weekly.weeks += more;
  if (rule === 'monthly' && r.monthly) r.monthly.months += more;
  if (rule === 'yearly' && r.yearly) r.yearly.years += more;
  return r;
}

function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let x = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function flatten(decision: RetentionDecision): unknown {
  return { keep: [...decision.keep], expire: decision.expire };
}
