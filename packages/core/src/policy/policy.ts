/**
 * @module policy/policy
 * A policy: when an item is backed up (its schedule) and how long its points live (its retention
 * rule, in Azure Backup's shape plus keep-last). docs/retention.md is the contract.
 */
import { PolicyError } from './policy-error.js';
import { isTimeZone } from './zone.js';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
export const MONTHS = [
  'jan',
  'feb',
  'mar',
  'apr',
  'may',
  'jun',
  'jul',
  'aug',
  'sep',
  'oct',
  'nov',
  'dec',
] as const;
export type Month = (typeof MONTHS)[number];
export const WEEKS_OF_MONTH = ['first', 'second', 'third', 'fourth', 'last'] as const;
export type WeekOfMonth = (typeof WEEKS_OF_MONTH)[number];

export interface Schedule {
  /** Local times of day, "HH:MM" or "HH:MM:SS" (seconds allow fast test schedules), ascending, unique, 1–24 of them. */
  times: string[];
  /** Weekdays it runs on; empty = every day. */
  days: Weekday[];
  /** IANA time zone, e.g. "Europe/Paris". */
  timeZone: string;
}

/** A day of a month: a date 1–28, the last day, or the first/second/third/fourth/last given weekday. */
export type DayOfMonth =
  { day: number } | { day: 'last' } | { weekday: Weekday; week: WeekOfMonth };

export interface Retention {
  /** The N newest successful points. */
  keepLast?: number;
  /** Every successful point of the last N local days, today included. */
  daily?: { days: number };
  /** For each of the last N weeks, the first successful point at or after `weekday`. */
  weekly?: { weeks: number; weekday: Weekday };
  /** For each of the last N months, the first successful point at or after day `on`. */
  monthly?: { months: number; on: DayOfMonth };
  /** For each of the last N years, the first successful point at or after day `on` of `month`. */
  yearly?: { years: number; month: Month; on: DayOfMonth };
}

export interface PolicySpec {
  schedule: Schedule;
  retention: Retention;
}

/** Inclusive ranges of each rule's count (PRODUCT.md: Azure's ranges, plus keep-last). */
export const RETENTION_LIMITS = {
  keepLast: [1, 9999],
  daily: [7, 9999],
  weekly: [4, 5163],
  monthly: [3, 1188],
  yearly: [1, 99],
} as const satisfies Record<keyof Retention, readonly [number, number]>;

/** What a rule's designated day is when the user names none (Azure's defaults). */
export const RETENTION_DEFAULTS: {
  weekday: Weekday;
  on: DayOfMonth;
  month: Month;
} = { weekday: 'sun', on: { day: 1 }, month: 'jan' };

/** The most times of day a schedule may hold. */
export const MAX_SCHEDULE_TIMES = 24;

const TIME_OF_DAY = /^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$/;
const RULES = ['keepLast', 'daily', 'weekly', 'monthly', 'yearly'] as const;

/** Seconds since local midnight of a "HH:MM" or "HH:MM:SS" time, or undefined if it is not one. */
export function secondOfDay(time: string): number | undefined {
  const m = TIME_OF_DAY.exec(time);
  if (!m) return undefined;
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] ?? 0);
}

/** True when `x` is one of WEEKDAYS. */
export function isWeekday(x: unknown): x is Weekday {
  return typeof x === 'string' && (WEEKDAYS as readonly string[]).includes(x);
}

/** True when `x` is one of MONTHS. */
export function isMonth(x: unknown): x is Month {
  return typeof x === 'string' && (MONTHS as readonly string[]).includes(x);
}

/**
 * Checks a policy's meaning (time zone exists, times valid and ordered, ranges of PRODUCT.md, at
 * least one retention rule); throws PolicyError (code POLICY_INVALID) whose message names the
 * field and says what is allowed.
 * @example validatePolicy({ schedule: { times: ['02:00'], days: [], timeZone: 'Europe/Paris' }, retention: { daily: { days: 30 } } });
 */
export function validatePolicy(spec: PolicySpec): void {
  if (!isObject(spec))
    throw new PolicyError('policy', 'must be an object with schedule and retention');
  validateSchedule(spec.schedule);
  validateRetention(spec.retention);
}

/** Checks a schedule as validatePolicy does; `field` prefixes the names in messages. */
export function validateSchedule(schedule: Schedule, field = 'schedule'): void {
  if (!isObject(schedule))
    throw new PolicyError(field, 'must be an object with times, days and timeZone');
  const { times, days, timeZone } = schedule;
  if (!Array.isArray(times) || times.length < 1 || times.length > MAX_SCHEDULE_TIMES) {
    throw new PolicyError(
      `${field}.times`,
      `must list 1 to ${MAX_SCHEDULE_TIMES} times of day, got ${Array.isArray(times) ? times.length : typeof times}`,
    );
  }
  let previous = -1;
  for (const [i, time] of times.entries()) {
    const second = typeof time === 'string' ? secondOfDay(time) : undefined;
    if (second === undefined) {
      throw new PolicyError(
        `${field}.times`,
        `${JSON.stringify(time)} is not a time of day; use HH:MM or HH:MM:SS from 00:00 to 23:59:59`,
      );
    }
    if (second <= previous) {
      throw new PolicyError(
        `${field}.times`,
        `must be in ascending order without repeats; ${JSON.stringify(time)} comes after ${JSON.stringify(times[i - 1])}`,
      );
    }
    previous = second;
  }
  if (!Array.isArray(days)) {
    throw new PolicyError(`${field}.days`, 'must be a list of weekdays (empty for every day)');
  }
  const seen = new Set<string>();
  for (const day of days) {
    if (!isWeekday(day)) {
      throw new PolicyError(
        `${field}.days`,
        `${JSON.stringify(day)} is not a weekday; use ${WEEKDAYS.join(', ')}`,
      );
    }
    if (seen.has(day)) throw new PolicyError(`${field}.days`, `${day} is listed twice`);
    seen.add(day);
  }
  if (!isTimeZone(timeZone)) {
    throw new PolicyError(
      `${field}.timeZone`,
      `${JSON.stringify(timeZone)} is not a known IANA time zone (e.g. "Europe/Paris", "America/New_York", "UTC")`,
    );
  }
}

/** Checks a retention rule as validatePolicy does; `field` prefixes the names in messages. */
export function validateRetention(retention: Retention, field = 'retention'): void {
  if (!isObject(retention)) throw new PolicyError(field, 'must be an object');
  for (const [key, value] of Object.entries(retention)) {
    if (value !== undefined && !(RULES as readonly string[]).includes(key)) {
      throw new PolicyError(`${field}.${key}`, `is not a retention rule; use ${RULES.join(', ')}`);
    }
  }
  const { keepLast, daily, weekly, monthly, yearly } = retention;
  if (RULES.every((rule) => retention[rule] === undefined)) {
    throw new PolicyError(field, `needs at least one rule: ${RULES.join(', ')}`);
  }
  if (keepLast !== undefined) checkCount(`${field}.keepLast`, keepLast, RETENTION_LIMITS.keepLast);
  if (daily !== undefined) {
    checkRule(`${field}.daily`, daily);
    checkCount(`${field}.daily.days`, daily.days, RETENTION_LIMITS.daily);
  }
  if (weekly !== undefined) {
    checkRule(`${field}.weekly`, weekly);
    checkCount(`${field}.weekly.weeks`, weekly.weeks, RETENTION_LIMITS.weekly);
    if (!isWeekday(weekly.weekday)) {
      throw new PolicyError(
        `${field}.weekly.weekday`,
        `${JSON.stringify(weekly.weekday)} is not a weekday; use ${WEEKDAYS.join(', ')}`,
      );
    }
  }
  if (monthly !== undefined) {
    checkRule(`${field}.monthly`, monthly);
    checkCount(`${field}.monthly.months`, monthly.months, RETENTION_LIMITS.monthly);
    validateDayOfMonth(monthly.on, `${field}.monthly.on`);
  }
  if (yearly !== undefined) {
    checkRule(`${field}.yearly`, yearly);
    checkCount(`${field}.yearly.years`, yearly.years, RETENTION_LIMITS.yearly);
    if (!isMonth(yearly.month)) {
      throw new PolicyError(
        `${field}.yearly.month`,
        `${JSON.stringify(yearly.month)} is not a month; use ${MONTHS.join(', ')}`,
      );
    }
    validateDayOfMonth(yearly.on, `${field}.yearly.on`);
  }
}

/** Checks a designated day of a month; `field` names it in messages. */
export function validateDayOfMonth(on: DayOfMonth, field: string): void {
  const allowed = `use { day: 1–28 }, { day: "last" } or { weekday, week: ${WEEKS_OF_MONTH.join('|')} }`;
  if (!isObject(on)) throw new PolicyError(field, `must be a day of the month; ${allowed}`);
  const keys = Object.keys(on).filter((k) => (on as Record<string, unknown>)[k] !== undefined);
  if ('day' in on && keys.length === 1) {
    const { day } = on;
    if (day === 'last') return;
    if (typeof day === 'number' && Number.isInteger(day) && day >= 1 && day <= 28) return;
    throw new PolicyError(
      `${field}.day`,
      `${JSON.stringify(day)} is not allowed; use 1 to 28 or "last" (29–31 do not exist in every month)`,
    );
  }
  if ('weekday' in on && 'week' in on && keys.length === 2) {
    if (!isWeekday(on.weekday)) {
      throw new PolicyError(
        `${field}.weekday`,
        `${JSON.stringify(on.weekday)} is not a weekday; use ${WEEKDAYS.join(', ')}`,
      );
    }
    if (!(WEEKS_OF_MONTH as readonly string[]).includes(on.week)) {
      throw new PolicyError(
        `${field}.week`,
        `${JSON.stringify(on.week)} is not allowed; use ${WEEKS_OF_MONTH.join(', ')}`,
      );
    }
    return;
  }
  throw new PolicyError(field, `has fields ${JSON.stringify(keys)}; ${allowed}`);
}

function checkRule(field: string, rule: unknown): void {
  if (!isObject(rule)) throw new PolicyError(field, 'must be an object');
}

function checkCount(field: string, n: unknown, [min, max]: readonly [number, number]): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new PolicyError(field, `${JSON.stringify(n)} is out of range; allowed ${min} to ${max}`);
  }
}

function isObject(x: unknown): x is object {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
