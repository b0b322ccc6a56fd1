/**
 * @module policy/civil
 * Calendar arithmetic on local dates as day numbers (days since 1970-01-01), so schedules and
 * retention buckets need no time zone once a point's local date is known.
 */

export const MS_PER_DAY = 86_400_000;

/** A calendar date; `month` is 1–12. */
export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

/** The day number of a calendar date (the proleptic Gregorian calendar, as `Date` counts it). */
export function dayNumber(year: number, month: number, day: number): number {
  return Math.floor(Date.UTC(year, month - 1, day) / MS_PER_DAY);
}

/** The calendar date of a day number. */
export function civilDate(dayNo: number): CivilDate {
  const d = new Date(dayNo * MS_PER_DAY);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** The weekday of a day number, 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday). */
export function weekdayIndex(dayNo: number): number {
  return (((dayNo + 3) % 7) + 7) % 7;
}

/** The number of days in a month of a year. */
export function daysInMonth(year: number, month: number): number {
  return dayNumber(year, month + 1, 1) - dayNumber(year, month, 1);
}

/** ISO form "YYYY-MM-DD" of a day number, for messages and tests. */
export function isoDate(dayNo: number): string {
  return new Date(dayNo * MS_PER_DAY).toISOString().slice(0, 10);
}
