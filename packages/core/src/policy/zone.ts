/**
 * @module policy/zone
 * Local dates and wall-clock times of one IANA time zone, from luxon's zone data. The offsets are
 * read through luxon; which instant an ambiguous or missing wall time means is decided here, so it
 * never depends on the current date (luxon's own guess does).
 */
import { IANAZone } from 'luxon';
import { MS_PER_DAY } from './civil.js';
import { PolicyError } from './policy-error.js';

const MS_PER_MINUTE = 60_000;
/** Names of zones, not offsets: "+05:00" is a valid Intl zone on some Node versions only. */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+\-/]*$/;

/** True when `name` is an IANA time zone this runtime knows. */
export function isTimeZone(name: unknown): name is string {
  return typeof name === 'string' && ZONE_NAME.test(name) && IANAZone.isValidZone(name);
}

/**
 * Offsets sampled at UTC midnight of day numbers, per zone, shared by every clock of the process:
 * a memo of the tz data (which does not change while a process runs), so the vault's daily expiry
 * of many items reads each day's offset once. Cleared when it grows past a bound.
 */
const SAMPLES = new Map<string, Map<number, number>>();
const MAX_SAMPLES_PER_ZONE = 200_000;

/**
 * One time zone's clock. Its answers assume that no zone changes its offset twice within three
 * days, which holds for the zones of the tz database since 1970 (Morocco's Ramadan changes, the
 * closest pair, are about a month apart).
 */
export class ZoneClock {
  readonly name: string;
  private readonly zone: IANAZone;
  private readonly samples: Map<number, number>;

  constructor(timeZone: string, field = 'timeZone') {
    if (!isTimeZone(timeZone)) {
      throw new PolicyError(
        field,
        `${JSON.stringify(timeZone)} is not a known IANA time zone (e.g. "Europe/Paris", "America/New_York", "UTC")`,
      );
    }
    this.name = timeZone;
    this.zone = IANAZone.create(timeZone);
    let samples = SAMPLES.get(timeZone);
    if (samples === undefined) SAMPLES.set(timeZone, (samples = new Map()));
    this.samples = samples;
  }

  /** The zone's offset from UTC in minutes at instant `ms`. */
  offset(ms: number): number {
    return this.zone.offset(ms);
  }

  /** The local day number of instant `ms`. */
  localDay(ms: number): number {
    const utcDay = Math.floor(ms / MS_PER_DAY);
    const before = this.sample(utcDay);
    // The same offset at both ends of the UTC day: no change within it.
    const offset = before === this.sample(utcDay + 1) ? before : this.offset(ms);
    return Math.floor((ms + offset * MS_PER_MINUTE) / MS_PER_DAY);
  }

  /**
   * The instant at which the wall clock of day `dayNo` shows `secondOfDay`. A wall time that
   * occurs twice (the clock falls back) means the first; one that does not occur (the clock
   * jumps forward over it) means the instant the jump reaches, shifted by the jump's length
   * (02:30 on a 02:00 → 03:00 night is 03:30), as luxon resolves it.
   */
  instantOf(dayNo: number, secondOfDay: number): number {
    const wall = dayNo * MS_PER_DAY + secondOfDay * 1000;
    // Offsets are within ±14 h, so the instant lies between these two samples.
    const before = this.sample(dayNo - 1);
    const after = this.sample(dayNo + 2);
    if (before === after) return wall - before * MS_PER_MINUTE;
    const early = wall - before * MS_PER_MINUTE;
    const late = wall - after * MS_PER_MINUTE;
    const earlyHolds = this.offset(early) === before;
    const lateHolds = this.offset(late) === after;
    if (earlyHolds && lateHolds) return Math.min(early, late);
    if (earlyHolds) return early;
    if (lateHolds) return late;
    return wall - Math.min(before, after) * MS_PER_MINUTE;
  }

  private sample(dayNo: number): number {
    let offset = this.samples.get(dayNo);
    if (offset === undefined) {
      offset = this.offset(dayNo * MS_PER_DAY);
      if (this.samples.size >= MAX_SAMPLES_PER_ZONE) this.samples.clear();
      this.samples.set(dayNo, offset);
    }
    return offset;
  }
}
