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
 * One time zone's clock. Its answers assume that no zone changes its offset twice within three
 * days, which holds for the zones of the tz database since 1970 (Morocco's Ramadan changes, the
 * closest pair, are about a month apart).
 */
export class ZoneClock {
  readonly name: string;
  private readonly zone: IANAZone;
  /** Offsets sampled at UTC midnight of day numbers, shared by the slots of nearby days. */
  private readonly probes = new Map<number, number>();
  /** An interval over which the offset is known to be `known` (see offsetNear). */
  private from = Number.NaN;
  private to = Number.NaN;
  private known = 0;

  constructor(timeZone: string, field = 'timeZone') {
    if (!isTimeZone(timeZone)) {
      throw new PolicyError(
        field,
        `${JSON.stringify(timeZone)} is not a known IANA time zone (e.g. "Europe/Paris", "America/New_York", "UTC")`,
      );
    }
    this.name = timeZone;
    this.zone = IANAZone.create(timeZone);
  }

  /** The zone's offset from UTC in minutes at instant `ms`. */
  offset(ms: number): number {
    return this.zone.offset(ms);
  }

  /**
   * The local day number of instant `ms`. Cheapest when called with non-decreasing instants: the
   * offset is then read about once per day spanned instead of once per call.
   */
  localDay(ms: number): number {
    return Math.floor((ms + this.offsetNear(ms) * MS_PER_MINUTE) / MS_PER_DAY);
  }

  /**
   * The instant at which the wall clock of day `dayNo` shows `secondOfDay`. A wall time that
   * occurs twice (the clock falls back) means the first; one that does not occur (the clock
   * jumps forward over it) means the instant the jump reaches, shifted by the jump's length
   * (02:30 on a 02:00 → 03:00 night is 03:30), as luxon resolves it.
   */
  instantOf(dayNo: number, secondOfDay: number): number {
    const wall = dayNo * MS_PER_DAY + secondOfDay * 1000;
    const before = this.probe(dayNo - 1);
    const after = this.probe(dayNo + 2);
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

  private probe(dayNo: number): number {
    let offset = this.probes.get(dayNo);
    if (offset === undefined) {
      offset = this.offset(dayNo * MS_PER_DAY);
      this.probes.set(dayNo, offset);
    }
    return offset;
  }

  /** The offset at `ms`, extending a known interval a day at a time for ascending calls. */
  private offsetNear(ms: number): number {
    if (ms >= this.from && ms <= this.to) return this.known;
    if (ms > this.to && ms - this.to <= MS_PER_DAY) {
      const next = this.to + MS_PER_DAY;
      // Same offset a day apart: no change in between (changes are days apart).
      if (this.offset(next) === this.known) {
        this.to = next;
        return this.known;
      }
    }
    this.known = this.offset(ms);
    this.from = ms;
    this.to = ms;
    return this.known;
  }
}
