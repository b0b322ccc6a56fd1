import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import {
  PolicyError,
  previewRetention,
  selectRetention,
  slotsBetween,
  type KeepReason,
  type Retention,
  type RetentionCandidate,
  type RetentionDecision,
} from '../src/index.js';

const PARIS = 'Europe/Paris';
const t = (iso: string) => Date.parse(iso);
/** The instant of a local wall time ("2025-03-02T02:00") in a zone (unambiguous times only). */
const local = (wall: string, zone = PARIS) => DateTime.fromISO(wall, { zone }).toMillis();

/** One point per local date from `first` to `last` at `time`, id = the date; `failed` dates fail. */
function daily(first: string, last: string, time = '02:00', zone = PARIS, failed: string[] = []) {
  const points: RetentionCandidate[] = [];
  for (
    let d = DateTime.fromISO(first, { zone: 'utc' });
    d <= DateTime.fromISO(last, { zone: 'utc' });
    d = d.plus({ days: 1 })
  ) {
    const id = d.toISODate()!;
    points.push({
      id,
      time: local(`${id}T${time}`, zone),
      outcome: failed.includes(id) ? 'failed' : 'succeeded',
    });
  }
  return points;
}

/** The decision as [id, reasons joined by +] in commit order, for readable expectations. */
function kept(decision: RetentionDecision): [string, string][] {
  return [...decision.keep].map(([id, reasons]) => [id, reasons.join('+')]);
}

const CANONICAL: Retention = {
  daily: { days: 7 },
  weekly: { weeks: 4, weekday: 'sun' },
  monthly: { months: 12, on: { day: 1 } },
  yearly: { years: 3, month: 'jan', on: { day: 1 } },
};

describe('the worked example of docs/retention.md: a year of daily 02:00 backups in Paris', () => {
  const year = daily('2025-01-01', '2025-12-31');

  it('keeps exactly these 22 points on 2025-12-31 at noon', () => {
    const decision = selectRetention(CANONICAL, PARIS, year, local('2025-12-31T12:00'));
    expect(kept(decision)).toEqual([
      ['2025-01-01', 'monthly+yearly'],
      ['2025-02-01', 'monthly'],
      ['2025-03-01', 'monthly'],
      ['2025-04-01', 'monthly'],
      ['2025-05-01', 'monthly'],
      ['2025-06-01', 'monthly'],
      ['2025-07-01', 'monthly'],
      ['2025-08-01', 'monthly'],
      ['2025-09-01', 'monthly'],
      ['2025-10-01', 'monthly'],
      ['2025-11-01', 'monthly'],
      ['2025-12-01', 'monthly'],
      ['2025-12-07', 'weekly'],
      ['2025-12-14', 'weekly'],
      ['2025-12-21', 'weekly'],
      ['2025-12-25', 'daily'],
      ['2025-12-26', 'daily'],
      ['2025-12-27', 'daily'],
      ['2025-12-28', 'daily+weekly'],
      ['2025-12-29', 'daily'],
      ['2025-12-30', 'daily'],
      ['2025-12-31', 'newest+daily'],
    ]);
    expect(decision.expire).toHaveLength(365 - 22);
    expect(new Set([...decision.keep.keys(), ...decision.expire]).size).toBe(365);
  });

  it('a day later, January 1st 2025 stays as the yearly point when it leaves the monthly tier', () => {
    const points = [...year, ...daily('2026-01-01', '2026-01-01')];
    const decision = selectRetention(CANONICAL, PARIS, points, local('2026-01-01T12:00'));
    expect(kept(decision)).toEqual([
      ['2025-01-01', 'yearly'],
      ['2025-02-01', 'monthly'],
      ['2025-03-01', 'monthly'],
      ['2025-04-01', 'monthly'],
      ['2025-05-01', 'monthly'],
      ['2025-06-01', 'monthly'],
      ['2025-07-01', 'monthly'],
      ['2025-08-01', 'monthly'],
      ['2025-09-01', 'monthly'],
      ['2025-10-01', 'monthly'],
      ['2025-11-01', 'monthly'],
      ['2025-12-01', 'monthly'],
      ['2025-12-07', 'weekly'],
      ['2025-12-14', 'weekly'],
      ['2025-12-21', 'weekly'],
      ['2025-12-26', 'daily'],
      ['2025-12-27', 'daily'],
      ['2025-12-28', 'daily+weekly'],
      ['2025-12-29', 'daily'],
      ['2025-12-30', 'daily'],
      ['2025-12-31', 'daily'],
      ['2026-01-01', 'newest+daily+monthly+yearly'],
    ]);
  });

  it('running expiry every day of the year ends with the same points as running it once', () => {
    let stored: RetentionCandidate[] = [];
    for (const point of year) {
      stored.push(point);
      const { keep } = selectRetention(CANONICAL, PARIS, stored, point.time + 3_600_000);
      stored = stored.filter((p) => keep.has(p.id));
    }
    const once = selectRetention(CANONICAL, PARIS, year, year.at(-1)!.time + 3_600_000);
    expect(stored.map((p) => p.id)).toEqual([...once.keep.keys()]);
  });

  it('replaces a failed Sunday and a failed first of the month by the next success', () => {
    const points = daily('2025-01-01', '2025-12-31', '02:00', PARIS, [
      '2025-12-14',
      '2025-11-01',
      '2025-11-02',
    ]);
    const decision = selectRetention(CANONICAL, PARIS, points, local('2025-12-31T12:00'));
    expect(decision.keep.get('2025-12-15')).toEqual(['weekly']);
    expect(decision.keep.get('2025-11-03')).toEqual(['monthly']);
    for (const id of ['2025-12-14', '2025-11-01', '2025-11-02']) {
      expect(decision.keep.has(id)).toBe(false);
      expect(decision.expire).toContain(id);
    }
    expect(decision.keep.size).toBe(22);
  });
});

describe('daily', () => {
  it('keeps every successful point of the last N local days, today counting as day 1', () => {
    const points = [
      { id: 'a', time: local('2025-06-03T23:59:59'), outcome: 'succeeded' as const },
      { id: 'b', time: local('2025-06-04T00:00'), outcome: 'succeeded' as const },
      { id: 'c', time: local('2025-06-04T12:00'), outcome: 'warnings' as const },
      { id: 'd', time: local('2025-06-07T08:00'), outcome: 'failed' as const },
      { id: 'e', time: local('2025-06-10T09:00'), outcome: 'succeeded' as const },
      { id: 'f', time: local('2025-06-10T10:00'), outcome: 'succeeded' as const },
    ];
    const decision = selectRetention(
      { daily: { days: 7 } },
      PARIS,
      points,
      local('2025-06-10T23:00'),
    );
    expect(kept(decision)).toEqual([
      ['b', 'daily'],
      ['c', 'daily'],
      ['e', 'daily'],
      ['f', 'newest+daily'],
    ]);
    expect(decision.expire).toEqual(['a', 'd']);
  });

  it('counts local dates of the policy zone, not UTC dates', () => {
    // 22:30 UTC on the 3rd is 00:30 on the 4th in Paris, and still the 3rd in New York.
    const points = [{ id: 'p', time: t('2025-06-03T22:30Z'), outcome: 'succeeded' as const }];
    const newer = [
      ...points,
      { id: 'q', time: t('2025-06-10T12:00Z'), outcome: 'succeeded' as const },
    ];
    const now = t('2025-06-10T12:00Z');
    expect(selectRetention({ daily: { days: 7 } }, PARIS, newer, now).keep.has('p')).toBe(true);
    expect(
      selectRetention({ daily: { days: 7 } }, 'America/New_York', newer, now).keep.has('p'),
    ).toBe(false);
  });

  it('holds calendar days across DST changes: a 23-hour and a 25-hour day are each one day', () => {
    const spring = [
      { id: 'before', time: t('2025-03-29T23:59:59+01:00'), outcome: 'succeeded' as const },
      { id: 'first', time: t('2025-03-30T00:00:00+01:00'), outcome: 'succeeded' as const },
      { id: 'now', time: t('2025-04-05T23:00+02:00'), outcome: 'succeeded' as const },
    ];
    expect(
      kept(selectRetention({ daily: { days: 7 } }, PARIS, spring, t('2025-04-05T23:30+02:00'))),
    ).toEqual([
      ['first', 'daily'],
      ['now', 'newest+daily'],
    ]);
    const autumn = [
      { id: 'before', time: t('2025-10-25T23:59:59+02:00'), outcome: 'succeeded' as const },
      { id: 'first', time: t('2025-10-26T00:00:00+02:00'), outcome: 'succeeded' as const },
      { id: 'twice', time: t('2025-10-26T02:30+01:00'), outcome: 'succeeded' as const },
      { id: 'now', time: t('2025-11-01T23:00+01:00'), outcome: 'succeeded' as const },
    ];
    expect(
      kept(selectRetention({ daily: { days: 7 } }, PARIS, autumn, t('2025-11-01T23:30+01:00'))),
    ).toEqual([
      ['first', 'daily'],
      ['twice', 'daily'],
      ['now', 'newest+daily'],
    ]);
  });
});

describe('weekly', () => {
  const rule: Retention = { weekly: { weeks: 4, weekday: 'sun' } };

  it('keeps for each of the last N weeks its first success at or after the weekday', () => {
    // 2025-06-01 is a Sunday; now is Wednesday 2025-06-25, in the week that began on the 22nd.
    const points = daily('2025-05-20', '2025-06-25', '02:00', PARIS, ['2025-06-08', '2025-06-09']);
    const decision = selectRetention(rule, PARIS, points, local('2025-06-25T12:00'));
    expect(kept(decision)).toEqual([
      ['2025-06-01', 'weekly'],
      ['2025-06-10', 'weekly'],
      ['2025-06-15', 'weekly'],
      ['2025-06-22', 'weekly'],
      ['2025-06-25', 'newest'],
    ]);
  });

  it('starts a week at local midnight of the weekday', () => {
    const points = [
      { id: 'sat-late', time: t('2025-06-07T23:59:59+02:00'), outcome: 'succeeded' as const },
      { id: 'sun-early', time: t('2025-06-08T00:00:00+02:00'), outcome: 'succeeded' as const },
      { id: 'later', time: t('2025-06-10T00:00:00+02:00'), outcome: 'succeeded' as const },
    ];
    expect(kept(selectRetention(rule, PARIS, points, local('2025-06-10T12:00')))).toEqual([
      ['sat-late', 'weekly'],
      ['sun-early', 'weekly'],
      ['later', 'newest'],
    ]);
  });

  it('counts weeks without any point among the N', () => {
    const points = daily('2025-05-01', '2025-05-05'); // Thu 1st … Mon 5th: weeks of Apr 27 and May 4
    const decision = selectRetention(rule, PARIS, points, local('2025-05-25T12:00'));
    // Weeks of May 25, 18, 11 and 4: only May 4 has points.
    expect(kept(decision)).toEqual([
      ['2025-05-04', 'weekly'],
      ['2025-05-05', 'newest'],
    ]);
  });
});

describe('monthly', () => {
  it('a "day 15" month runs from the 15th to the 14th of the next month', () => {
    const points = daily('2025-01-10', '2025-04-20', '02:00', PARIS, ['2025-03-15', '2025-03-16']);
    const decision = selectRetention(
      { monthly: { months: 3, on: { day: 15 } } },
      PARIS,
      points,
      local('2025-04-20T12:00'),
    );
    expect(kept(decision)).toEqual([
      ['2025-02-15', 'monthly'],
      ['2025-03-17', 'monthly'],
      ['2025-04-15', 'monthly'],
      ['2025-04-20', 'newest'],
    ]);
    // On April 14th the current month is still March's: February, March and the one before count.
    const earlier = selectRetention(
      { monthly: { months: 3, on: { day: 15 } } },
      PARIS,
      points.filter((p) => p.id <= '2025-04-14'),
      local('2025-04-14T12:00'),
    );
    expect(kept(earlier).map(([id]) => id)).toEqual([
      '2025-01-15',
      '2025-02-15',
      '2025-03-17',
      '2025-04-14',
    ]);
  });

  it('a "last" day month runs from the last day of one month to the day before the next one, 29 February included', () => {
    const rule: Retention = { monthly: { months: 3, on: { day: 'last' } } };
    // On April 29th the current month is March's (it runs to April 29th): March, February, January.
    const leap = daily('2024-01-25', '2024-04-29');
    expect(kept(selectRetention(rule, PARIS, leap, local('2024-04-29T12:00')))).toEqual([
      ['2024-01-31', 'monthly'],
      ['2024-02-29', 'monthly'],
      ['2024-03-31', 'monthly'],
      ['2024-04-29', 'newest'],
    ]);
    const common = daily('2025-01-25', '2025-04-30', '02:00', PARIS, ['2025-02-28']);
    // On April 30th the current month is April's: April, March, February.
    expect(kept(selectRetention(rule, PARIS, common, local('2025-04-30T12:00')))).toEqual([
      ['2025-03-01', 'monthly'], // February's last day failed; the next success is in its period
      ['2025-03-31', 'monthly'],
      ['2025-04-30', 'newest+monthly'],
    ]);
  });

  it('a first or last weekday of the month', () => {
    const points = daily('2025-01-01', '2025-03-31');
    const firstMonday = selectRetention(
      { monthly: { months: 3, on: { weekday: 'mon', week: 'first' } } },
      PARIS,
      points,
      local('2025-03-31T12:00'),
    );
    expect(kept(firstMonday).map(([id]) => id)).toEqual([
      '2025-01-06',
      '2025-02-03',
      '2025-03-03',
      '2025-03-31',
    ]);
    const lastFriday = selectRetention(
      { monthly: { months: 3, on: { weekday: 'fri', week: 'last' } } },
      PARIS,
      points,
      local('2025-03-31T12:00'),
    );
    // On March 31st the current period began on March's last Friday, the 28th.
    expect(kept(lastFriday).map(([id]) => id)).toEqual([
      '2025-01-31',
      '2025-02-28',
      '2025-03-28',
      '2025-03-31',
    ]);
    const thirdWednesday = selectRetention(
      { monthly: { months: 3, on: { weekday: 'wed', week: 'third' } } },
      PARIS,
      points,
      local('2025-03-31T12:00'),
    );
    expect(kept(thirdWednesday).map(([id]) => id)).toEqual([
      '2025-01-15',
      '2025-02-19',
      '2025-03-19',
      '2025-03-31',
    ]);
  });
});

describe('yearly', () => {
  it('keeps the first success at or after the designated day of each of the last N years', () => {
    const points = daily('2021-12-25', '2025-03-10', '02:00', PARIS, ['2024-01-01']);
    const decision = selectRetention(
      { yearly: { years: 3, month: 'jan', on: { day: 1 } } },
      PARIS,
      points,
      local('2025-03-10T12:00'),
    );
    expect(kept(decision)).toEqual([
      ['2023-01-01', 'yearly'],
      ['2024-01-02', 'yearly'],
      ['2025-01-01', 'yearly'],
      ['2025-03-10', 'newest'],
    ]);
  });

  it('the last day of February is the 29th in leap years', () => {
    const points = daily('2023-02-20', '2025-03-05');
    const decision = selectRetention(
      { yearly: { years: 3, month: 'feb', on: { day: 'last' } } },
      PARIS,
      points,
      local('2025-03-05T12:00'),
    );
    expect(kept(decision).map(([id]) => id)).toEqual([
      '2023-02-28',
      '2024-02-29',
      '2025-02-28',
      '2025-03-05',
    ]);
  });
});

describe('keep-last, newest and reasons', () => {
  it('keep-last keeps the N newest successful points; failed ones neither count nor are kept', () => {
    const points: RetentionCandidate[] = [
      { id: 'p1', time: 1_000, outcome: 'succeeded' },
      { id: 'p2', time: 2_000, outcome: 'warnings' },
      { id: 'p3', time: 3_000, outcome: 'succeeded' },
      { id: 'p4', time: 4_000, outcome: 'failed' },
      { id: 'p5', time: 5_000, outcome: 'failed' },
    ];
    const decision = selectRetention({ keepLast: 2 }, 'UTC', points, 10_000);
    expect(kept(decision)).toEqual([
      ['p2', 'last'],
      ['p3', 'newest+last'],
    ]);
    expect(decision.expire).toEqual(['p1', 'p4', 'p5']);
  });

  it('never expires the newest successful point when backups stop', () => {
    const points = daily('2023-01-01', '2023-03-31');
    const decision = selectRetention(
      { daily: { days: 7 }, weekly: { weeks: 4, weekday: 'sun' } },
      PARIS,
      points,
      local('2025-06-01T12:00'),
    );
    expect(kept(decision)).toEqual([['2023-03-31', 'newest']]);
    expect(decision.expire).toHaveLength(89);
  });

  it('lists every reason a point qualifies for, in a fixed order', () => {
    const points = daily('2024-12-25', '2025-01-05');
    const decision = selectRetention(
      {
        keepLast: 1,
        daily: { days: 7 },
        weekly: { weeks: 4, weekday: 'sun' },
        monthly: { months: 3, on: { day: 'last' } },
        yearly: { years: 1, month: 'jan', on: { weekday: 'sun', week: 'first' } },
      },
      PARIS,
      points,
      local('2025-01-05T23:00'),
    );
    // Sunday 2025-01-05 is the newest, the last, today, this week's Sunday and the year's first Sunday.
    expect(decision.keep.get('2025-01-05')).toEqual<KeepReason[]>([
      'newest',
      'last',
      'daily',
      'weekly',
      'yearly',
    ]);
    expect(decision.keep.get('2024-12-31')).toEqual<KeepReason[]>(['daily', 'monthly']);
  });

  it('decides ties in commit time by id, whatever the input order', () => {
    const points: RetentionCandidate[] = [
      { id: 'b', time: 5_000, outcome: 'succeeded' },
      { id: 'a', time: 5_000, outcome: 'succeeded' },
    ];
    for (const order of [points, [...points].reverse()]) {
      expect(kept(selectRetention({ keepLast: 1 }, 'UTC', order, 10_000))).toEqual([
        ['b', 'newest+last'],
      ]);
    }
  });

  it('keeps nothing and expires nothing when there is nothing', () => {
    const decision = selectRetention({ keepLast: 3 }, 'UTC', [], 0);
    expect(decision.keep.size).toBe(0);
    expect(decision.expire).toEqual([]);
  });
});

describe('the vault clock decides', () => {
  it('follows commit times, not the order or dates an agent claims', () => {
    // Ids carry the agent's claimed dates; the vault committed them in another order.
    const points: RetentionCandidate[] = [
      { id: 'agent-says-2030-01-01', time: local('2025-06-01T02:00'), outcome: 'succeeded' },
      { id: 'agent-says-1999-01-01', time: local('2025-06-09T02:00'), outcome: 'succeeded' },
      { id: 'agent-says-2025-06-10', time: local('2025-06-10T02:00'), outcome: 'succeeded' },
      { id: 'agent-says-2025-06-02', time: local('2025-06-02T02:00'), outcome: 'succeeded' },
    ];
    const decision = selectRetention(
      { daily: { days: 7 } },
      PARIS,
      points,
      local('2025-06-10T12:00'),
    );
    expect(kept(decision)).toEqual([
      ['agent-says-1999-01-01', 'daily'],
      ['agent-says-2025-06-10', 'newest+daily'],
    ]);
    expect(decision.expire).toEqual(['agent-says-2030-01-01', 'agent-says-2025-06-02']);
  });

  it('keeps points committed after now (the vault clock went backwards) until now passes them', () => {
    const points = [
      ...daily('2025-06-01', '2025-06-05'),
      { id: 'ahead', time: local('2025-06-20T02:00'), outcome: 'succeeded' as const },
      { id: 'ahead-failed', time: local('2025-06-21T02:00'), outcome: 'failed' as const },
    ];
    const decision = selectRetention({ keepLast: 1 }, PARIS, points, local('2025-06-05T12:00'));
    expect(kept(decision)).toEqual([['ahead', 'newest+last+future']]);
    const today = selectRetention({ daily: { days: 7 } }, PARIS, points, local('2025-06-20T01:00'));
    expect(today.keep.get('ahead')).toEqual(['newest', 'daily', 'future']);
  });

  it('applies a changed policy to the existing points', () => {
    const points = daily('2025-01-01', '2025-03-31');
    const now = local('2025-03-31T12:00');
    const long = selectRetention({ daily: { days: 30 } }, PARIS, points, now);
    const short = selectRetention({ daily: { days: 7 } }, PARIS, points, now);
    expect(long.keep.size).toBe(30);
    expect(short.keep.size).toBe(7);
    expect([...short.keep.keys()].every((id) => long.keep.has(id))).toBe(true);
  });
});

describe('refusals', () => {
  const p: RetentionCandidate = { id: 'x', time: 0, outcome: 'succeeded' };

  it('refuses an invalid rule or zone with a PolicyError, so a bad policy never expires anything', () => {
    expect(() => selectRetention({}, 'UTC', [p], 0)).toThrow(PolicyError);
    expect(() => selectRetention({ daily: { days: 1 } }, 'UTC', [p], 0)).toThrow(
      /retention.daily.days/,
    );
    expect(() => selectRetention({ keepLast: 1 }, 'Nowhere/Town', [p], 0)).toThrow(PolicyError);
  });

  it('refuses malformed points', () => {
    expect(() => selectRetention({ keepLast: 1 }, 'UTC', [p, p], 0)).toThrow(/listed twice/);
    expect(() => selectRetention({ keepLast: 1 }, 'UTC', [{ ...p, time: Number.NaN }], 0)).toThrow(
      RangeError,
    );
    expect(() =>
      selectRetention({ keepLast: 1 }, 'UTC', [{ ...p, outcome: 'ok' as never }], 0),
    ).toThrow(/unknown outcome/);
    expect(() => selectRetention({ keepLast: 1 }, 'UTC', [p], Number.NaN)).toThrow(RangeError);
  });
});

describe('previewRetention', () => {
  const policy = {
    schedule: { times: ['02:00'], days: [], timeZone: PARIS },
    retention: CANONICAL,
  };

  it('runs the real schedule and selection: a year of the canonical policy keeps the worked example', () => {
    const preview = previewRetention(policy, local('2024-12-31T12:00'), 365);
    const expected = selectRetention(
      CANONICAL,
      PARIS,
      daily('2025-01-01', '2025-12-31'),
      local('2025-12-31T12:00'),
    );
    expect(preview.total).toBe(22);
    expect(
      preview.points.map((p) => DateTime.fromMillis(p.time, { zone: PARIS }).toISODate()),
    ).toEqual([...expected.keep.keys()].reverse());
    expect(preview.points.map((p) => p.reasons)).toEqual([...expected.keep.values()].reverse());
    expect(preview.points[0]!.reasons).toContain('newest');
  });

  it('over several years, keeps what one selection over every slot keeps', () => {
    const longer = {
      schedule: { times: ['03:00', '23:30'], days: [], timeZone: 'Australia/Sydney' },
      retention: {
        ...CANONICAL,
        keepLast: 5,
        monthly: { months: 30, on: { day: 'last' as const } },
      },
    };
    const now = t('2024-02-10T12:00Z');
    const preview = previewRetention(longer, now, 1200);
    const end = DateTime.fromMillis(now, { zone: 'Australia/Sydney' })
      .plus({ days: 1200 })
      .toMillis();
    const slots = slotsBetween(longer.schedule, now, end);
    expect(slots).toHaveLength(2400);
    const once = selectRetention(
      longer.retention,
      'Australia/Sydney',
      slots.map((time) => ({ id: String(time), time, outcome: 'succeeded' as const })),
      end,
    );
    expect(preview.points.map((p) => [p.time, p.reasons])).toEqual(
      [...once.keep].map(([id, reasons]) => [Number(id), reasons]).reverse(),
    );
    expect(preview.total).toBe(once.keep.size);
  });

  it('follows the schedule: weekdays and several times a day', () => {
    const preview = previewRetention(
      {
        schedule: { times: ['08:00', '20:00'], days: ['mon', 'fri'], timeZone: PARIS },
        retention: { daily: { days: 7 } },
      },
      local('2025-06-01T00:00'),
      28,
    );
    // The last 7 days (June 23–29) hold Monday the 23rd and Friday the 27th, twice each.
    expect(
      preview.points.map((p) =>
        DateTime.fromMillis(p.time, { zone: PARIS }).toFormat('MM-dd HH:mm'),
      ),
    ).toEqual(['06-27 20:00', '06-27 08:00', '06-23 20:00', '06-23 08:00']);
    expect(preview.total).toBe(4);
  });

  it('refuses a day count outside 1 to 36525, and an invalid policy', () => {
    for (const days of [0, -1, 1.5, 36_526]) {
      expect(() => previewRetention(policy, 0, days)).toThrow(
        /days: .* is out of range; allowed 1 to 36525/,
      );
    }
    expect(() => previewRetention({ ...policy, retention: {} }, 0, 10)).toThrow(PolicyError);
  });
});
