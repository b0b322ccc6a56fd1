/**
 * @module policy/schedule
 * When a schedule's backups are due: its slots, the instants at which the local wall clock of its
 * time zone shows one of its times on one of its weekdays, correct across DST changes.
 */
import { weekdayIndex } from './civil.js';
import { WEEKDAYS, secondOfDay, validateSchedule, type Schedule } from './policy.js';
import { ZoneClock } from './zone.js';

/** A validated schedule in the form slot arithmetic needs. */
interface Plan {
  seconds: number[];
  /** Indexed by weekdayIndex; all true when the schedule names no weekday. */
  runsOn: boolean[];
  clock: ZoneClock;
}

/**
 * The first slot strictly after `afterMs` (epoch ms). Stateless: a clock that went backwards
 * simply asks again with an earlier instant.
 * @example nextSlot({ times: ['02:00'], days: [], timeZone: 'Europe/Paris' }, Date.parse('2025-03-29T12:00:00Z')) // 2025-03-30T00:00:00Z
 */
export function nextSlot(schedule: Schedule, afterMs: number): number {
  checkInstant('afterMs', afterMs);
  const plan = planOf(schedule);
  const today = plan.clock.localDay(afterMs);
  let best = Number.POSITIVE_INFINITY;
  let foundOn = Number.NaN;
  // From yesterday: a slot of the previous local date can be pushed past midnight by a DST gap.
  // Within eight days every weekday comes round, so a slot is always found.
  for (let day = today - 1; day <= today + 8; day++) {
    if (day > foundOn) break;
    for (const slot of slotsOfDay(plan, day)) {
      if (slot > afterMs && slot < best) {
        best = slot;
        foundOn = day + 1;
      }
    }
  }
  return best;
}

/**
 * Every slot in (fromMs, toMs], ascending and unique; empty when toMs <= fromMs. Catching up after
 * downtime needs only nextSlot(schedule, lastRun) <= now; this lists them all.
 */
export function slotsBetween(schedule: Schedule, fromMs: number, toMs: number): number[] {
  checkInstant('fromMs', fromMs);
  checkInstant('toMs', toMs);
  if (!(toMs > fromMs)) return [];
  const plan = planOf(schedule);
  const first = plan.clock.localDay(fromMs) - 1;
  const last = plan.clock.localDay(toMs) + 1;
  const slots: number[] = [];
  for (let day = first; day <= last; day++) {
    for (const slot of slotsOfDay(plan, day)) if (slot > fromMs && slot <= toMs) slots.push(slot);
  }
  slots.sort((a, b) => a - b);
  return slots.filter((slot, i) => i === 0 || slot !== slots[i - 1]);
}

function planOf(schedule: Schedule): Plan {
  validateSchedule(schedule);
  const runsOn = WEEKDAYS.map((d) => schedule.days.length === 0 || schedule.days.includes(d));
  return {
    seconds: schedule.times.map((t) => secondOfDay(t)!),
    runsOn,
    clock: new ZoneClock(schedule.timeZone),
  };
}

/** The instants of one local date's slots (not sorted: a DST gap can push one past the next). */
function slotsOfDay(plan: Plan, dayNo: number): number[] {
  if (!plan.runsOn[weekdayIndex(dayNo)]) return [];
  return plan.seconds.map((second) => plan.clock.instantOf(dayNo, second));
}

function checkInstant(name: string, ms: number): void {
  if (!Number.isFinite(ms))
    throw new RangeError(`${name} must be a finite epoch time in ms, got ${ms}`);
}
