/**
 * @module commands/policy-spec
 * Builds a policy's schedule and retention from `coffer policy create|set` flags, checked with
 * core's parsers and validatePolicy before anything is sent.
 */
import {
  CofferError,
  RETENTION_DEFAULTS,
  formatDayOfMonth,
  parseCount,
  parseDayOfMonth,
  parseMonth,
  parseTimeZone,
  parseTimes,
  parseWeekday,
  parseWeekdays,
  validatePolicy,
  type PolicySpec,
  type Retention,
} from '@coffer/core';

export interface PolicyFlags {
  times?: string;
  days?: string;
  tz?: string;
  keepLast?: string;
  daily?: string;
  weekly?: string;
  weekday?: string;
  monthly?: string;
  day?: string;
  yearly?: string;
  month?: string;
}

/** When a new policy names no times. */
export const DEFAULT_TIMES = ['02:00'];

/** This machine's time zone, the default of a new policy. */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** A count flag: undefined when not given, 0 to remove the rule. */
function count(text: string | undefined, flag: string): number | undefined {
  return text === undefined ? undefined : parseCount(text, flag);
}

function retentionOf(flags: PolicyFlags, base: Retention): Retention {
  const r: Retention = { ...base };
  const keepLast = count(flags.keepLast, '--keep-last');
  if (keepLast !== undefined) {
    if (keepLast === 0) delete r.keepLast;
    else r.keepLast = keepLast;
  }
  const daily = count(flags.daily, '--daily');
  if (daily !== undefined) {
    if (daily === 0) delete r.daily;
    else r.daily = { days: daily };
  }
  const weekly = count(flags.weekly, '--weekly');
  const weekday =
    flags.weekday === undefined ? undefined : parseWeekday(flags.weekday, '--weekday');
  if (weekly === 0) delete r.weekly;
  else if (weekly !== undefined || (weekday && r.weekly)) {
    r.weekly = {
      weeks: weekly ?? r.weekly!.weeks,
      weekday: weekday ?? r.weekly?.weekday ?? RETENTION_DEFAULTS.weekday,
    };
  }
  const on = flags.day === undefined ? undefined : parseDayOfMonth(flags.day, '--day');
  const monthly = count(flags.monthly, '--monthly');
  if (monthly === 0) delete r.monthly;
  else if (monthly !== undefined || (on && r.monthly)) {
    r.monthly = {
      months: monthly ?? r.monthly!.months,
      on: on ?? r.monthly?.on ?? RETENTION_DEFAULTS.on,
    };
  }
  const yearly = count(flags.yearly, '--yearly');
  const month = flags.month === undefined ? undefined : parseMonth(flags.month, '--month');
  if (yearly === 0) delete r.yearly;
  else if (yearly !== undefined || ((month || on) && r.yearly)) {
    r.yearly = {
      years: yearly ?? r.yearly!.years,
      month: month ?? r.yearly?.month ?? RETENTION_DEFAULTS.month,
      on: on ?? r.yearly?.on ?? RETENTION_DEFAULTS.on,
    };
  }
  return r;
}

/**
 * The policy the flags describe, starting from `base` (policy set) or from the defaults
 * (policy create: 02:00 every day in this machine's time zone). Throws POLICY_INVALID or USAGE.
 */
export function policySpec(flags: PolicyFlags, base?: PolicySpec): PolicySpec {
  const days = flags.days?.trim().toLowerCase();
  const spec: PolicySpec = {
    schedule: {
      times:
        flags.times === undefined
          ? (base?.schedule.times ?? DEFAULT_TIMES)
          : parseTimes(flags.times, '--times'),
      days:
        days === undefined
          ? (base?.schedule.days ?? [])
          : days === 'all' || days === 'every'
            ? []
            : parseWeekdays(days, '--days'),
      timeZone:
        flags.tz === undefined
          ? (base?.schedule.timeZone ?? localTimeZone())
          : parseTimeZone(flags.tz, '--tz'),
    },
    retention: retentionOf(flags, base?.retention ?? {}),
  };
  if (Object.keys(spec.retention).length === 0) {
    throw new CofferError(
      'USAGE',
      'say how long points are kept: --daily N (days), --weekly N, --monthly N, --yearly N or --keep-last N',
    );
  }
  validatePolicy(spec);
  return spec;
}

/** One line per part of a policy, as `coffer policy show` prints it. */
export function describePolicy(spec: PolicySpec): string[] {
  const { schedule, retention: r } = spec;
  const days = schedule.days.length === 0 ? 'every day' : schedule.days.join(',');
  const keep: string[] = [];
  if (r.keepLast) keep.push(`the last ${r.keepLast}`);
  if (r.daily) keep.push(`daily for ${r.daily.days} days`);
  if (r.weekly) keep.push(`weekly (${r.weekly.weekday}) for ${r.weekly.weeks} weeks`);
  if (r.monthly)
    keep.push(`monthly (day ${formatDayOfMonth(r.monthly.on)}) for ${r.monthly.months} months`);
  if (r.yearly) {
    keep.push(
      `yearly (${r.yearly.month}, day ${formatDayOfMonth(r.yearly.on)}) for ${r.yearly.years} years`,
    );
  }
  return [
    `Backups at ${schedule.times.join(', ')} ${days} (${schedule.timeZone})`,
    `Keeps ${keep.join('; ')}`,
  ];
}
