/**
 * @module retention/periods
 * The calendar periods retention buckets points into, on local day numbers: weeks that start on a
 * designated weekday, months that start on a designated day, years that start on a designated day
 * of a designated month (docs/retention.md §Buckets).
 */
import { civilDate, dayNumber, weekdayIndex } from '../policy/civil.js';
import { MONTHS, WEEKDAYS, type DayOfMonth, type Month, type Weekday } from '../policy/policy.js';

const WEEK_NUMBER = { first: 0, second: 1, third: 2, fourth: 3 } as const;

/** The day number of a month's designated day (`month` 1–12; any year, any month). */
export function anchorDay(year: number, month: number, on: DayOfMonth): number {
  if ('day' in on) {
    return on.day === 'last' ? dayNumber(year, month + 1, 1) - 1 : dayNumber(year, month, on.day);
  }
  const wanted = WEEKDAYS.indexOf(on.weekday);
  if (on.week === 'last') {
    const lastDay = dayNumber(year, month + 1, 1) - 1;
    return lastDay - ((weekdayIndex(lastDay) - wanted + 7) % 7);
  }
  const firstDay = dayNumber(year, month, 1);
  return firstDay + ((wanted - weekdayIndex(firstDay) + 7) % 7) + 7 * WEEK_NUMBER[on.week];
}

/** The week period of a day: the day number of the latest `weekday` on or before it. */
export function weekPeriod(dayNo: number, weekday: Weekday): number {
  return dayNo - ((weekdayIndex(dayNo) - WEEKDAYS.indexOf(weekday) + 7) % 7);
}

/**
 * The month period of a day, as year * 12 + month index: the month whose designated day is the
 * latest on or before it (with "day 15", 2025-03-14 belongs to February's period).
 */
export function monthPeriod(dayNo: number, on: DayOfMonth): number {
  const { year, month } = civilDate(dayNo);
  const index = year * 12 + month - 1;
  return dayNo >= anchorDay(year, month, on) ? index : index - 1;
}

/** The year period of a day: the year whose designated day of `month` is the latest on or before it. */
export function yearPeriod(dayNo: number, month: Month, on: DayOfMonth): number {
  const { year } = civilDate(dayNo);
  return dayNo >= anchorDay(year, MONTHS.indexOf(month) + 1, on) ? year : year - 1;
}
