/**
 * @module policy/parse
 * Reads the parts of a policy as people type them on the command line ("02:00,14:30", "mon-fri",
 * "last-sun") into the values validatePolicy checks, and writes them back the same way.
 */
import {
  MAX_SCHEDULE_TIMES,
  MONTHS,
  WEEKDAYS,
  WEEKS_OF_MONTH,
  secondOfDay,
  type DayOfMonth,
  type Month,
  type WeekOfMonth,
  type Weekday,
} from './policy.js';
import { PolicyError } from './policy-error.js';
import { isTimeZone } from './zone.js';

const LOOSE_TIME = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/;
const FULL_WEEKDAYS = [
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
  'sunday',
];
const FULL_MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

/**
 * Parses comma-separated times of day ("2:00, 14:30:15") into the sorted, unique "HH:MM[:SS]"
 * list a Schedule holds.
 * @example parseTimes('14:30,02:00') // ['02:00', '14:30']
 */
export function parseTimes(text: string, field = 'times'): string[] {
  const bySecond = new Map<number, string>();
  for (const token of splitList(text, field)) {
    const m = LOOSE_TIME.exec(token);
    const time = m
      ? `${m[1]!.padStart(2, '0')}:${m[2]}${m[3] === undefined ? '' : `:${m[3]}`}`
      : '';
    const second = secondOfDay(time);
    if (second === undefined) {
      throw new PolicyError(
        field,
        `${JSON.stringify(token)} is not a time of day; use HH:MM or HH:MM:SS from 00:00 to 23:59:59`,
      );
    }
    if (!bySecond.has(second)) bySecond.set(second, time);
  }
  if (bySecond.size > MAX_SCHEDULE_TIMES) {
    throw new PolicyError(
      field,
      `at most ${MAX_SCHEDULE_TIMES} times of day, got ${bySecond.size}`,
    );
  }
  return [...bySecond.entries()].sort(([a], [b]) => a - b).map(([, time]) => time);
}

/**
 * Parses comma-separated weekdays or ranges ("mon,wed", "mon-fri", "Saturday") into unique
 * weekdays in week order.
 * @example parseWeekdays('fri,mon-tue') // ['mon', 'tue', 'fri']
 */
export function parseWeekdays(text: string, field = 'days'): Weekday[] {
  const chosen = new Set<number>();
  for (const token of splitList(text, field)) {
    const range = token.split('-');
    if (range.length === 2) {
      const from = weekdayNumber(range[0]!.trim(), field);
      const to = weekdayNumber(range[1]!.trim(), field);
      for (let d = from; ; d = (d + 1) % 7) {
        chosen.add(d);
        if (d === to) break;
      }
    } else {
      chosen.add(weekdayNumber(token, field));
    }
  }
  return [...chosen].sort((a, b) => a - b).map((d) => WEEKDAYS[d]!);
}

/** Parses one weekday ("sun", "Sunday"). */
export function parseWeekday(text: string, field = 'weekday'): Weekday {
  return WEEKDAYS[weekdayNumber(text.trim(), field)]!;
}

/** Parses a month ("jan", "January", "1"). */
export function parseMonth(text: string, field = 'month'): Month {
  const t = text.trim().toLowerCase();
  let index = /^\d{1,2}$/.test(t) ? Number(t) - 1 : (MONTHS as readonly string[]).indexOf(t);
  if (index < 0) index = FULL_MONTHS.indexOf(t);
  const month = MONTHS[index];
  if (month === undefined) {
    throw new PolicyError(
      field,
      `${JSON.stringify(text)} is not a month; use ${MONTHS.join(', ')} or 1 to 12`,
    );
  }
  return month;
}

/**
 * Parses a day of the month: "1" to "28", "last", or a week and a weekday ("first-mon",
 * "last-fri"); formatDayOfMonth writes the same forms.
 */
export function parseDayOfMonth(text: string, field = 'day'): DayOfMonth {
  const t = text.trim().toLowerCase();
  if (t === 'last') return { day: 'last' };
  if (/^\d{1,2}$/.test(t) && Number(t) >= 1 && Number(t) <= 28) return { day: Number(t) };
  const m = /^([a-z]+)[-\s]+([a-z]+)$/.exec(t);
  if (m && (WEEKS_OF_MONTH as readonly string[]).includes(m[1]!)) {
    return { week: m[1] as WeekOfMonth, weekday: parseWeekday(m[2]!, field) };
  }
  throw new PolicyError(
    field,
    `${JSON.stringify(text)} is not a day of the month; use 1 to 28, last, or a week and a weekday such as first-mon or last-fri`,
  );
}

/** Writes a day of the month the way parseDayOfMonth reads it ("1", "last", "first-mon"). */
export function formatDayOfMonth(on: DayOfMonth): string {
  if ('day' in on) return String(on.day);
  return `${on.week}-${on.weekday}`;
}

/** Parses a count ("30") as a whole number; validatePolicy checks its range. */
export function parseCount(text: string, field: string): number {
  const t = text.trim();
  if (!/^\d{1,9}$/.test(t))
    throw new PolicyError(field, `${JSON.stringify(text)} is not a whole number`);
  return Number(t);
}

/** Checks an IANA time zone name and returns its canonical spelling ("europe/paris" → "Europe/Paris"). */
export function parseTimeZone(text: string, field = 'timeZone'): string {
  const t = text.trim();
  if (!isTimeZone(t)) {
    throw new PolicyError(
      field,
      `${JSON.stringify(text)} is not a known IANA time zone (e.g. "Europe/Paris", "America/New_York", "UTC")`,
    );
  }
  return new Intl.DateTimeFormat('en-US', { timeZone: t }).resolvedOptions().timeZone;
}

function splitList(text: string, field: string): string[] {
  const tokens = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (tokens.length === 0) throw new PolicyError(field, 'is empty; give at least one value');
  return tokens;
}

function weekdayNumber(token: string, field: string): number {
  const t = token.toLowerCase();
  let index = (WEEKDAYS as readonly string[]).indexOf(t);
  if (index < 0) index = FULL_WEEKDAYS.indexOf(t);
  if (index < 0) {
    throw new PolicyError(
      field,
      `${JSON.stringify(token)} is not a weekday; use ${WEEKDAYS.join(', ')}`,
    );
  }
  return index;
}
