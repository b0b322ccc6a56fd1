import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import {
  PolicyError,
  WEEKDAYS,
  nextSlot,
  slotsBetween,
  type Schedule,
  type Weekday,
} from '../src/index.js';
import { isoDate } from '../src/policy/civil.js';
import { ZoneClock } from '../src/policy/zone.js';

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function schedule(timeZone: string, times: string[], days: Weekday[] = []): Schedule {
  return { times, days, timeZone };
}

/** The slots from `from` on, found by asking nextSlot again and again, as a scheduler does. */
function chain(s: Schedule, from: number, count: number): number[] {
  const slots: number[] = [];
  for (let at = from; slots.length < count;) slots.push((at = nextSlot(s, at)));
  return slots;
}

describe('DST in Europe/Paris (northern hemisphere; 2025-03-30 02:00 → 03:00, 2025-10-26 03:00 → 02:00)', () => {
  const paris = schedule('Europe/Paris', ['02:30']);

  it('runs a 02:30 slot once on the night 02:00–03:00 does not exist, at 03:30 CEST', () => {
    expect(slotsBetween(paris, t('2025-03-28T12:00Z'), t('2025-04-01T12:00Z')).map(iso)).toEqual([
      iso(t('2025-03-29T02:30+01:00')),
      iso(t('2025-03-30T03:30+02:00')),
      iso(t('2025-03-31T02:30+02:00')),
      iso(t('2025-04-01T02:30+02:00')),
    ]);
    expect(iso(nextSlot(paris, t('2025-03-29T23:00+01:00')))).toBe(
      iso(t('2025-03-30T03:30+02:00')),
    );
  });

  it('runs a 02:30 slot once, at its first occurrence, on the night 02:00–03:00 happens twice', () => {
    expect(slotsBetween(paris, t('2025-10-25T12:00Z'), t('2025-10-28T12:00Z')).map(iso)).toEqual([
      iso(t('2025-10-26T02:30+02:00')),
      iso(t('2025-10-27T02:30+01:00')),
      iso(t('2025-10-28T02:30+01:00')),
    ]);
    // Asked between the two occurrences of 02:30, the next slot is the next night's.
    expect(iso(nextSlot(paris, t('2025-10-26T02:45+02:00')))).toBe(
      iso(t('2025-10-27T02:30+01:00')),
    );
    expect(iso(nextSlot(paris, t('2025-10-26T02:15+01:00')))).toBe(
      iso(t('2025-10-27T02:30+01:00')),
    );
  });

  it('runs two times that fall in the same gap once, and keeps later times in order', () => {
    const s = schedule('Europe/Paris', ['02:00', '02:30', '03:15', '03:30']);
    expect(
      slotsBetween(s, t('2025-03-30T00:00+01:00'), t('2025-03-30T12:00+02:00')).map(iso),
    ).toEqual([
      iso(t('2025-03-30T03:00+02:00')),
      iso(t('2025-03-30T03:15+02:00')),
      iso(t('2025-03-30T03:30+02:00')),
    ]);
    expect(chain(s, t('2025-03-30T00:00+01:00'), 3).map(iso)).toEqual([
      iso(t('2025-03-30T03:00+02:00')),
      iso(t('2025-03-30T03:15+02:00')),
      iso(t('2025-03-30T03:30+02:00')),
    ]);
  });

  it('gives a day of 23 and a day of 25 hours their hourly slots once each', () => {
    const hourly = schedule(
      'Europe/Paris',
      Array.from({ length: 24 }, (_, h) => `${String(h).padStart(2, '0')}:00`),
    );
    const spring = slotsBetween(
      hourly,
      t('2025-03-30T00:00+01:00') - 1,
      t('2025-03-31T00:00+02:00') - 1,
    );
    expect(spring).toHaveLength(23);
    const autumn = slotsBetween(
      hourly,
      t('2025-10-26T00:00+02:00') - 1,
      t('2025-10-27T00:00+01:00') - 1,
    );
    expect(autumn).toHaveLength(24);
    expect(
      autumn
        .filter((s) => s >= t('2025-10-26T02:00+02:00') && s < t('2025-10-26T04:00+01:00'))
        .map(iso),
    ).toEqual([iso(t('2025-10-26T02:00+02:00')), iso(t('2025-10-26T03:00+01:00'))]);
  });
});

describe('DST in the southern hemisphere', () => {
  it('Australia/Sydney: 2025-10-05 02:00 → 03:00 and 2025-04-06 03:00 → 02:00', () => {
    const sydney = schedule('Australia/Sydney', ['02:30']);
    expect(
      slotsBetween(sydney, t('2025-10-03T12:00+10:00'), t('2025-10-06T12:00+11:00')).map(iso),
    ).toEqual([
      iso(t('2025-10-04T02:30+10:00')),
      iso(t('2025-10-05T03:30+11:00')),
      iso(t('2025-10-06T02:30+11:00')),
    ]);
    expect(
      slotsBetween(sydney, t('2025-04-04T12:00+11:00'), t('2025-04-07T12:00+10:00')).map(iso),
    ).toEqual([
      iso(t('2025-04-05T02:30+11:00')),
      iso(t('2025-04-06T02:30+11:00')),
      iso(t('2025-04-07T02:30+10:00')),
    ]);
  });

  it('America/Sao_Paulo 2018–19: the clock jumped at midnight, so a date began at 01:00 and an evening repeated', () => {
    const s = schedule('America/Sao_Paulo', ['00:00', '23:30']);
    // 2018-11-04 00:00 → 01:00: midnight does not exist; it runs at 01:00.
    expect(
      slotsBetween(s, t('2018-11-03T12:00-03:00'), t('2018-11-05T12:00-02:00')).map(iso),
    ).toEqual([
      iso(t('2018-11-03T23:30-03:00')),
      iso(t('2018-11-04T01:00-02:00')),
      iso(t('2018-11-04T23:30-02:00')),
      iso(t('2018-11-05T00:00-02:00')),
    ]);
    // 2019-02-17 00:00 → 2019-02-16 23:00: the 16th's 23:30 happens twice; it runs at the first.
    expect(
      slotsBetween(s, t('2019-02-16T12:00-02:00'), t('2019-02-18T12:00-03:00')).map(iso),
    ).toEqual([
      iso(t('2019-02-16T23:30-02:00')),
      iso(t('2019-02-17T00:00-03:00')),
      iso(t('2019-02-17T23:30-03:00')),
      iso(t('2019-02-18T00:00-03:00')),
    ]);
  });

  it('a weekday filter follows the local date, not the UTC one', () => {
    // 2018-11-04 was a Sunday in Sao Paulo; its slot exists even though its midnight does not.
    const sundays = schedule('America/Sao_Paulo', ['00:00'], ['sun']);
    expect(iso(nextSlot(sundays, t('2018-11-01T00:00Z')))).toBe(iso(t('2018-11-04T01:00-02:00')));
    // Monday 00:30 in Auckland (UTC+13 in January) is Sunday 11:30 UTC.
    const mondays = schedule('Pacific/Auckland', ['00:30'], ['mon']);
    const slot = nextSlot(mondays, t('2025-01-01T00:00Z'));
    expect(iso(slot)).toBe(iso(t('2025-01-06T00:30+13:00')));
    expect(new Date(slot).getUTCDay()).toBe(0);
  });
});

describe('calendar edges', () => {
  it('crosses the end of a month and of a year', () => {
    const s = schedule('Europe/Paris', ['22:00']);
    expect(iso(nextSlot(s, t('2025-01-31T22:00+01:00')))).toBe(iso(t('2025-02-01T22:00+01:00')));
    expect(iso(nextSlot(s, t('2025-12-31T23:00+01:00')))).toBe(iso(t('2026-01-01T22:00+01:00')));
    expect(iso(nextSlot(s, t('2025-04-30T22:00+02:00')))).toBe(iso(t('2025-05-01T22:00+02:00')));
  });

  it('has a slot on 29 February of a leap year, and none in other years', () => {
    const thursdays = schedule('UTC', ['12:00'], ['thu']);
    expect(chain(thursdays, t('2024-02-20T00:00Z'), 3).map(iso)).toEqual([
      '2024-02-22T12:00:00.000Z',
      '2024-02-29T12:00:00.000Z',
      '2024-03-07T12:00:00.000Z',
    ]);
    const daily = schedule('Europe/Paris', ['01:00']);
    expect(slotsBetween(daily, t('2024-02-28T12:00Z'), t('2024-03-01T12:00Z')).map(iso)).toEqual([
      iso(t('2024-02-29T01:00+01:00')),
      iso(t('2024-03-01T01:00+01:00')),
    ]);
    expect(slotsBetween(daily, t('2025-02-28T12:00Z'), t('2025-03-01T12:00Z')).map(iso)).toEqual([
      iso(t('2025-03-01T01:00+01:00')),
    ]);
  });

  it('runs only on the chosen weekdays', () => {
    const s = schedule('Europe/Paris', ['08:00', '20:00'], ['mon', 'wed', 'fri']);
    const slots = slotsBetween(s, t('2025-06-01T00:00+02:00'), t('2025-06-15T00:00+02:00'));
    expect(slots).toHaveLength(12);
    for (const slot of slots) {
      const local = DateTime.fromMillis(slot, { zone: 'Europe/Paris' });
      expect([1, 3, 5]).toContain(local.weekday);
      expect(['08:00', '20:00']).toContain(local.toFormat('HH:mm'));
    }
    // Saturday evening: the next slot is Monday morning.
    expect(iso(nextSlot(s, t('2025-06-07T21:00+02:00')))).toBe(iso(t('2025-06-09T08:00+02:00')));
  });
});

describe('the clock', () => {
  const s = schedule('Europe/Paris', ['02:00', '14:00']);

  it('is strictly after: a slot asked at its own instant gives the next one', () => {
    const slot = t('2025-06-01T14:00+02:00');
    expect(nextSlot(s, slot - 1)).toBe(slot);
    expect(iso(nextSlot(s, slot))).toBe(iso(t('2025-06-02T02:00+02:00')));
    expect(slotsBetween(s, slot, slot + DAY)).not.toContain(slot);
    expect(slotsBetween(s, slot - 1, slot)).toEqual([slot]);
  });

  it('answers correctly when the clock moves backwards (stateless)', () => {
    const later = nextSlot(s, t('2025-06-10T15:00+02:00'));
    const earlier = nextSlot(s, t('2025-06-01T15:00+02:00'));
    expect(iso(later)).toBe(iso(t('2025-06-11T02:00+02:00')));
    expect(iso(earlier)).toBe(iso(t('2025-06-02T02:00+02:00')));
    expect(nextSlot(s, t('2025-06-10T15:00+02:00'))).toBe(later);
  });

  it('lists nothing when from is at or after to', () => {
    const from = t('2025-06-10T00:00Z');
    expect(slotsBetween(s, from, from - 5 * DAY)).toEqual([]);
    expect(slotsBetween(s, from, from)).toEqual([]);
  });

  it('runs schedules seconds apart (the fast test schedules), across midnight', () => {
    const fast = schedule('Europe/Paris', ['00:00:01', '00:00:04', '23:59:58']);
    const from = t('2025-06-01T23:59:57+02:00');
    expect(chain(fast, from, 4).map(iso)).toEqual([
      iso(t('2025-06-01T23:59:58+02:00')),
      iso(t('2025-06-02T00:00:01+02:00')),
      iso(t('2025-06-02T00:00:04+02:00')),
      iso(t('2025-06-02T23:59:58+02:00')),
    ]);
  });

  it('refuses an invalid schedule or a non-finite instant', () => {
    expect(() => nextSlot(schedule('Nowhere/Town', ['02:00']), 0)).toThrow(PolicyError);
    expect(() => nextSlot(schedule('UTC', ['25:00']), 0)).toThrow(/"25:00" is not a time of day/);
    expect(() => nextSlot(schedule('UTC', ['02:00']), Number.NaN)).toThrow(RangeError);
    expect(() => slotsBetween(schedule('UTC', ['02:00']), 0, Number.POSITIVE_INFINITY)).toThrow(
      RangeError,
    );
  });
});

describe('properties over zones, times and weekdays', () => {
  /** Zones of both hemispheres, 30- and 45-minute offsets, with some of their DST changes. */
  const ZONES: Record<string, string[]> = {
    'Europe/Paris': ['2020-03-29T01:00Z', '2025-10-26T01:00Z'],
    'America/Sao_Paulo': ['2018-11-04T03:00Z', '2019-02-17T02:00Z'],
    'Australia/Sydney': ['2025-04-05T16:00Z', '2025-10-04T16:00Z'],
    'Australia/Lord_Howe': ['2025-04-05T15:00Z', '2025-10-04T15:30Z'], // a 30-minute DST shift
    'America/New_York': ['2025-03-09T07:00Z', '2025-11-02T06:00Z'],
    'Pacific/Chatham': ['2025-04-05T14:00Z', '2025-09-27T14:00Z'],
    'Asia/Kolkata': [],
    UTC: [],
  };
  const arbTime = fc
    .oneof(fc.integer({ min: 0, max: 86_399 }), fc.integer({ min: 0, max: 4 * 3600 - 1 }))
    .map(
      (s) =>
        `${String(Math.floor(s / 3600)).padStart(2, '0')}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`,
    );
  /** A schedule and an instant, often within days of one of its zone's DST changes. */
  const arbCase = fc.constantFrom(...Object.keys(ZONES)).chain((timeZone) =>
    fc.record({
      schedule: fc.record({
        timeZone: fc.constant(timeZone),
        times: fc.uniqueArray(arbTime, { minLength: 1, maxLength: 6 }).map((times) => times.sort()),
        days: fc.subarray([...WEEKDAYS]),
      }),
      from: fc.oneof(
        fc.integer({ min: t('2016-01-01T00:00Z'), max: t('2026-01-01T00:00Z') }),
        ...ZONES[timeZone]!.map((change) =>
          fc.integer({ min: t(change) - 10 * DAY, max: t(change) + DAY }),
        ),
      ),
    }),
  );

  it('nextSlot and slotsBetween agree, and every slot is a chosen time on a chosen local weekday', () => {
    fc.assert(
      fc.property(arbCase, fc.integer({ min: 1, max: 10 * DAY }), ({ schedule: s, from }, span) => {
        const listed = slotsBetween(s, from, from + span);
        const chained: number[] = [];
        for (let at = nextSlot(s, from); at <= from + span; at = nextSlot(s, at)) chained.push(at);
        expect(listed).toEqual(chained);
        const next = nextSlot(s, from);
        expect(next).toBeGreaterThan(from);
        expect(slotsBetween(s, from, next)).toEqual([next]);
        for (const slot of listed) {
          const local = DateTime.fromMillis(slot, { zone: s.timeZone });
          if (s.days.length > 0) expect(s.days).toContain(WEEKDAYS[local.weekday - 1]);
          // Outside a DST gap the slot shows its time; in a gap it was moved forward by less than 2 h.
          const shown = local.toFormat('HH:mm:ss');
          if (!s.times.includes(shown) && !s.times.includes(shown.slice(0, 5))) {
            const wall = local.toFormat('yyyy-MM-dd');
            const sameDay = s.times.map((time) =>
              DateTime.fromISO(`${wall}T${time}`, { zone: 'UTC' }),
            );
            const moved = sameDay.some((w) => {
              const shift = DateTime.fromISO(`${wall}T${shown}`, { zone: 'UTC' })
                .diff(w)
                .as('minutes');
              return shift > 0 && shift <= 120;
            });
            expect(moved, `${iso(slot)} shows ${shown} in ${s.timeZone}`).toBe(true);
          }
          // A wall time that occurs twice runs at its first occurrence: DST shifts are 30 or 60
          // minutes, and that much earlier the clock showed another time.
          for (const back of [HOUR / 2, HOUR]) {
            const earlier = DateTime.fromMillis(slot - back, { zone: s.timeZone });
            expect(earlier.toFormat('yyyy-MM-dd HH:mm:ss')).not.toBe(
              local.toFormat('yyyy-MM-dd HH:mm:ss'),
            );
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('runs each chosen time once per chosen local date', () => {
    fc.assert(
      fc.property(arbCase, ({ schedule: s, from }) => {
        const slots = slotsBetween(s, from, from + 15 * DAY);
        const byDate = new Map<string, number>();
        for (const slot of slots) {
          const date = DateTime.fromMillis(slot, { zone: s.timeZone }).toISODate()!;
          byDate.set(date, (byDate.get(date) ?? 0) + 1);
        }
        // Full local dates strictly inside the range (a gap can merge two times into one slot).
        const dates = [...byDate.keys()].sort().slice(1, -1);
        for (const date of dates) {
          expect(byDate.get(date)!).toBeLessThanOrEqual(s.times.length);
          expect(byDate.get(date)!).toBeGreaterThanOrEqual(s.times.length - 1);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('the zone clock under slots and retention', () => {
  it('gives the local date luxon gives, every 5 minutes for two days around DST changes', () => {
    const changes: [string, string][] = [
      ['Europe/Paris', '2025-03-30T01:00Z'],
      ['Europe/Paris', '2025-10-26T01:00Z'],
      ['Australia/Sydney', '2025-04-05T16:00Z'],
      ['Australia/Sydney', '2025-10-04T16:00Z'],
      ['America/Sao_Paulo', '2018-11-04T03:00Z'],
      ['America/Sao_Paulo', '2019-02-17T02:00Z'],
      ['Australia/Lord_Howe', '2025-10-04T15:30Z'],
      ['Asia/Tehran', '2021-09-21T19:30Z'],
      ['America/St_Johns', '2025-03-09T05:30Z'],
    ];
    for (const [zone, change] of changes) {
      const clock = new ZoneClock(zone);
      for (let at = t(change) - DAY; at <= t(change) + DAY; at += 5 * 60_000) {
        const date = DateTime.fromMillis(at, { zone }).toISODate();
        expect(isoDate(clock.localDay(at)), `${iso(at)} in ${zone}`).toBe(date);
      }
    }
  });

  it('gives the local date luxon gives, for instants minutes to years apart', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(
          'Europe/Paris',
          'America/Sao_Paulo',
          'Australia/Lord_Howe',
          'Asia/Tehran',
          'UTC',
        ),
        fc.integer({ min: t('2000-01-01T00:00Z'), max: t('2030-01-01T00:00Z') }),
        fc.array(
          fc.oneof(
            fc.integer({ min: -2 * HOUR, max: 2 * HOUR }),
            fc.integer({ min: -400 * DAY, max: 400 * DAY }),
          ),
          {
            maxLength: 200,
          },
        ),
        (zone, start, steps) => {
          const clock = new ZoneClock(zone);
          let at = start;
          for (const step of [0, ...steps]) {
            at += step;
            const date = DateTime.fromMillis(at, { zone }).toISODate();
            expect(isoDate(clock.localDay(at)), `${iso(at)} in ${zone}`).toBe(date);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
