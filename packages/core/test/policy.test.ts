import { describe, expect, it } from 'vitest';
import {
  CofferError,
  PolicyError,
  RETENTION_LIMITS,
  formatDayOfMonth,
  parseCount,
  parseDayOfMonth,
  parseMonth,
  parseTimeZone,
  parseTimes,
  parseWeekday,
  parseWeekdays,
  validatePolicy,
  type DayOfMonth,
  type PolicySpec,
} from '../src/index.js';

const GOOD: PolicySpec = {
  schedule: { times: ['02:00', '14:30:15'], days: ['mon', 'fri'], timeZone: 'Europe/Paris' },
  retention: {
    keepLast: 3,
    daily: { days: 7 },
    weekly: { weeks: 4, weekday: 'sun' },
    monthly: { months: 12, on: { day: 1 } },
    yearly: { years: 3, month: 'jan', on: { weekday: 'mon', week: 'last' } },
  },
};

/** A copy of GOOD with one part replaced; `as never` lets tests pass what the types forbid. */
function withSchedule(schedule: Record<string, unknown>): PolicySpec {
  return { ...GOOD, schedule: { ...GOOD.schedule, ...schedule } as never };
}
function withRetention(retention: Record<string, unknown>): PolicySpec {
  return { ...GOOD, retention: retention as never };
}

/** The PolicyError `run` throws (failing the test if it throws none or another error). */
function policyError(run: () => unknown): PolicyError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    return error as PolicyError;
  }
  throw new Error('expected a PolicyError, nothing was thrown');
}

describe('validatePolicy', () => {
  it('accepts a policy within every range, and the ends of each range', () => {
    expect(() => validatePolicy(GOOD)).not.toThrow();
    for (const end of [0, 1] as const) {
      const n = (rule: keyof typeof RETENTION_LIMITS) => RETENTION_LIMITS[rule][end];
      expect(() =>
        validatePolicy(
          withRetention({
            keepLast: n('keepLast'),
            daily: { days: n('daily') },
            weekly: { weeks: n('weekly'), weekday: 'wed' },
            monthly: { months: n('monthly'), on: { day: 'last' } },
            yearly: { years: n('yearly'), month: 'feb', on: { day: 28 } },
          }),
        ),
      ).not.toThrow();
    }
  });

  it('has the ranges of PRODUCT.md', () => {
    expect(RETENTION_LIMITS).toEqual({
      keepLast: [1, 9999],
      daily: [7, 9999],
      weekly: [4, 5163],
      monthly: [3, 1188],
      yearly: [1, 99],
    });
  });

  it.each([
    [{ keepLast: 0 }, 'retention.keepLast', /0 is out of range; allowed 1 to 9999/],
    [{ keepLast: 10000 }, 'retention.keepLast', /allowed 1 to 9999/],
    [{ keepLast: 2.5 }, 'retention.keepLast', /2.5 is out of range/],
    [{ keepLast: '3' }, 'retention.keepLast', /"3" is out of range/],
    [{ daily: { days: 6 } }, 'retention.daily.days', /6 is out of range; allowed 7 to 9999/],
    [{ daily: { days: 10000 } }, 'retention.daily.days', /allowed 7 to 9999/],
    [{ weekly: { weeks: 3, weekday: 'sun' } }, 'retention.weekly.weeks', /allowed 4 to 5163/],
    [{ weekly: { weeks: 5164, weekday: 'sun' } }, 'retention.weekly.weeks', /allowed 4 to 5163/],
    [{ weekly: { weeks: 4, weekday: 'sunday' } }, 'retention.weekly.weekday', /not a weekday/],
    [{ monthly: { months: 2, on: { day: 1 } } }, 'retention.monthly.months', /allowed 3 to 1188/],
    [{ monthly: { months: 1189, on: { day: 1 } } }, 'retention.monthly.months', /3 to 1188/],
    [{ monthly: { months: 3, on: { day: 29 } } }, 'retention.monthly.on.day', /1 to 28 or "last"/],
    [{ monthly: { months: 3, on: { day: 0 } } }, 'retention.monthly.on.day', /1 to 28/],
    [{ monthly: { months: 3, on: { day: 'first' } } }, 'retention.monthly.on.day', /1 to 28/],
    [{ monthly: { months: 3 } }, 'retention.monthly.on', /must be a day of the month/],
    [
      { monthly: { months: 3, on: { day: 1, weekday: 'mon' } } },
      'retention.monthly.on',
      /has fields \["day","weekday"\]/,
    ],
    [
      { monthly: { months: 3, on: { weekday: 'mon', week: 'fifth' } } },
      'retention.monthly.on.week',
      /first, second, third, fourth, last/,
    ],
    [
      { monthly: { months: 3, on: { weekday: 'xyz', week: 'first' } } },
      'retention.monthly.on.weekday',
      /not a weekday/,
    ],
    [{ yearly: { years: 0, month: 'jan', on: { day: 1 } } }, 'retention.yearly.years', /1 to 99/],
    [{ yearly: { years: 100, month: 'jan', on: { day: 1 } } }, 'retention.yearly.years', /1 to 99/],
    [{ yearly: { years: 1, month: 'january', on: { day: 1 } } }, 'retention.yearly.month', /jan,/],
    [{ yearly: { years: 1, month: 'feb', on: { day: 30 } } }, 'retention.yearly.on.day', /1 to 28/],
    [{}, 'retention', /needs at least one rule: keepLast, daily, weekly, monthly, yearly/],
    [{ keepLast: undefined }, 'retention', /needs at least one rule/],
    [{ hourly: { hours: 24 } }, 'retention.hourly', /is not a retention rule/],
    [{ daily: 7 }, 'retention.daily', /must be an object/],
  ])('refuses retention %j, naming %s', (retention, field, message) => {
    const error = policyError(() => validatePolicy(withRetention(retention)));
    expect(error.code).toBe('POLICY_INVALID');
    expect(error.field).toBe(field);
    expect(error.message.startsWith(`${field}: `)).toBe(true);
    expect(error.message).toMatch(message);
  });

  it.each([
    [{ times: ['25:00'] }, 'schedule.times', /"25:00" is not a time of day; use HH:MM or HH:MM:SS/],
    [{ times: ['24:00'] }, 'schedule.times', /not a time of day/],
    [{ times: ['02:60'] }, 'schedule.times', /not a time of day/],
    [{ times: ['2:00'] }, 'schedule.times', /not a time of day/],
    [{ times: ['02:00:60'] }, 'schedule.times', /not a time of day/],
    [{ times: [] }, 'schedule.times', /1 to 24 times of day, got 0/],
    [{ times: '02:00' }, 'schedule.times', /1 to 24 times of day, got string/],
    [
      { times: ['14:00', '02:00'] },
      'schedule.times',
      /ascending order.*"02:00" comes after "14:00"/,
    ],
    [{ times: ['02:00', '02:00:00'] }, 'schedule.times', /without repeats/],
    [{ days: ['mon', 'funday'] }, 'schedule.days', /"funday" is not a weekday; use mon, tue/],
    [{ days: ['mon', 'mon'] }, 'schedule.days', /mon is listed twice/],
    [{ days: 'mon' }, 'schedule.days', /list of weekdays/],
    [{ timeZone: 'Mars/Olympus_Mons' }, 'schedule.timeZone', /not a known IANA time zone/],
    [{ timeZone: '+05:00' }, 'schedule.timeZone', /not a known IANA time zone/],
    [{ timeZone: '' }, 'schedule.timeZone', /not a known IANA time zone/],
    [{ timeZone: undefined }, 'schedule.timeZone', /not a known IANA time zone/],
  ])('refuses schedule %j, naming %s', (schedule, field, message) => {
    const error = policyError(() => validatePolicy(withSchedule(schedule)));
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('allows up to 24 times of day, not 25', () => {
    const times = Array.from({ length: 25 }, (_, i) => `00:00:${String(i).padStart(2, '0')}`);
    expect(() => validatePolicy(withSchedule({ times: times.slice(0, 24) }))).not.toThrow();
    expect(policyError(() => validatePolicy(withSchedule({ times }))).message).toMatch(
      /1 to 24 times of day, got 25/,
    );
  });

  it('refuses what is not a policy at all', () => {
    expect(policyError(() => validatePolicy(null as never)).field).toBe('policy');
    expect(policyError(() => validatePolicy({ retention: GOOD.retention } as never)).field).toBe(
      'schedule',
    );
    expect(policyError(() => validatePolicy({ schedule: GOOD.schedule } as never)).field).toBe(
      'retention',
    );
  });

  it('is a CofferError, so the vault answers 400 and the CLI prints one line', () => {
    const error = policyError(() => validatePolicy(withRetention({ daily: { days: 1 } })));
    expect(error).toBeInstanceOf(CofferError);
    expect(error.message).not.toMatch(/\n/);
  });
});

describe('parsers for the command line', () => {
  it('reads times of day, sorting them and dropping repeats', () => {
    expect(parseTimes('02:00,14:30')).toEqual(['02:00', '14:30']);
    expect(parseTimes(' 14:30 , 2:00 ,02:00:00')).toEqual(['02:00', '14:30']);
    expect(parseTimes('23:59:59,00:00:05')).toEqual(['00:00:05', '23:59:59']);
    for (const bad of ['25:00', '24:00', '12:60', '12', 'noon', '1:2', '02:00;03:00']) {
      const error = policyError(() => parseTimes(bad));
      expect(error.field).toBe('times');
      expect(error.message).toMatch(/is not a time of day; use HH:MM or HH:MM:SS/);
    }
    expect(policyError(() => parseTimes(' , ')).message).toMatch(/times: is empty/);
    expect(policyError(() => parseTimes('25:00', '--times')).message).toMatch(/^--times: "25:00"/);
    const many = Array.from({ length: 25 }, (_, i) => `00:${String(i).padStart(2, '0')}`).join(',');
    expect(policyError(() => parseTimes(many)).message).toMatch(/at most 24 times/);
  });

  it('reads weekdays, names and ranges, into week order', () => {
    expect(parseWeekdays('mon,wed')).toEqual(['mon', 'wed']);
    expect(parseWeekdays('Sunday, mon')).toEqual(['mon', 'sun']);
    expect(parseWeekdays('mon-fri')).toEqual(['mon', 'tue', 'wed', 'thu', 'fri']);
    expect(parseWeekdays('fri-mon,wed,wed')).toEqual(['mon', 'wed', 'fri', 'sat', 'sun']);
    expect(policyError(() => parseWeekdays('mon,funday')).message).toMatch(
      /days: "funday" is not a weekday/,
    );
    expect(policyError(() => parseWeekdays('')).message).toMatch(/is empty/);
    expect(parseWeekday(' SUN ')).toBe('sun');
    expect(() => parseWeekday('s')).toThrow(PolicyError);
  });

  it('reads months by name or number', () => {
    expect(parseMonth('jan')).toBe('jan');
    expect(parseMonth('February')).toBe('feb');
    expect(parseMonth('12')).toBe('dec');
    for (const bad of ['0', '13', 'janv', '']) {
      expect(policyError(() => parseMonth(bad)).message).toMatch(/is not a month; use jan,/);
    }
  });

  it('reads days of the month and writes them back the same way', () => {
    const cases: [string, DayOfMonth][] = [
      ['1', { day: 1 }],
      ['28', { day: 28 }],
      ['last', { day: 'last' }],
      ['first-mon', { week: 'first', weekday: 'mon' }],
      ['fourth-thu', { week: 'fourth', weekday: 'thu' }],
      ['last-sun', { week: 'last', weekday: 'sun' }],
    ];
    for (const [text, on] of cases) {
      expect(parseDayOfMonth(text)).toEqual(on);
      expect(formatDayOfMonth(on)).toBe(text);
    }
    expect(parseDayOfMonth('Last Friday')).toEqual({ week: 'last', weekday: 'fri' });
    for (const bad of ['0', '29', '31', 'fifth-mon', 'first', 'mon', '']) {
      expect(policyError(() => parseDayOfMonth(bad)).message).toMatch(
        /is not a day of the month; use 1 to 28, last, or a week and a weekday/,
      );
    }
  });

  it('reads counts as whole numbers only', () => {
    expect(parseCount('30', '--daily')).toBe(30);
    for (const bad of ['-1', '1.5', 'ten', '', '1e3']) {
      expect(policyError(() => parseCount(bad, '--daily')).message).toMatch(
        /^--daily: .* is not a whole number$/,
      );
    }
  });

  it('checks time zones and spells them canonically', () => {
    expect(parseTimeZone('Europe/Paris')).toBe('Europe/Paris');
    expect(parseTimeZone('europe/paris')).toBe('Europe/Paris');
    expect(parseTimeZone('UTC')).toBe('UTC');
    expect(policyError(() => parseTimeZone('Mars/Base', '--tz')).message).toMatch(
      /^--tz: "Mars\/Base" is not a known IANA time zone/,
    );
  });
});
