/**
 * @module history/immutability
 * What an immutable vault refuses, for every caller (tenant owner and service admin included),
 * and how to tell that a policy change shortens retention (docs/history.md §Immutability).
 */
import type { PolicySpec } from '@coffer/api';
import type { Immutability } from '../db/schema.js';
import { HttpError } from '../plugins/errors.js';

/** Refuses `what` when the vault is immutable, saying why and what (if anything) would allow it. */
export function assertMutable(
  vault: { name: string; immutability?: Immutability },
  what: string,
): void {
  if ((vault.immutability ?? 'off') === 'off') return;
  throw new HttpError(
    'IMMUTABLE',
    vault.immutability === 'locked'
      ? `vault ${vault.name} is immutable and locked: nobody (owner and service admin included) may ${what}; locking cannot be undone`
      : `vault ${vault.name} is immutable: nobody may ${what}; an owner can turn immutability off first ('coffer vault set ${vault.name} --immutability off')`,
  );
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Why replacing `before` with `after` may make points expire sooner, or undefined when it
 * cannot: a rule removed or given a smaller count, a period's designated day moved (the
 * points that filled the old periods may no longer be the first of the new ones), or the time
 * zone changed (local dates, and so days and periods, move).
 */
export function retentionShortening(before: PolicySpec, after: PolicySpec): string | undefined {
  const b = before.retention;
  const a = after.retention;
  const counts = [
    ['keep-last', b.keepLast, a.keepLast],
    ['daily', b.daily?.days, a.daily?.days],
    ['weekly', b.weekly?.weeks, a.weekly?.weeks],
    ['monthly', b.monthly?.months, a.monthly?.months],
    ['yearly', b.yearly?.years, a.yearly?.years],
  ] as const;
  for (const [rule, was, now] of counts) {
    if (was === undefined) continue;
    if (now === undefined) return `it removes the ${rule} rule (${was})`;
    if (now < was) return `it lowers ${rule} from ${was} to ${now}`;
  }
  if (b.weekly && a.weekly && b.weekly.weekday !== a.weekly.weekday)
    return 'it moves the weekday of weekly points';
  if (b.monthly && a.monthly && !same(b.monthly.on, a.monthly.on))
    return 'it moves the day of monthly points';
  if (
    b.yearly &&
    a.yearly &&
    (b.yearly.month !== a.yearly.month || !same(b.yearly.on, a.yearly.on))
  )
    return 'it moves the day of yearly points';
  if (before.schedule.timeZone !== after.schedule.timeZone) return 'it changes the time zone';
  return undefined;
}
