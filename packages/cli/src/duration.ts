/**
 * @module duration
 * Durations typed on the command line: a number and a unit, e.g. 90m, 12h, 30d, 52w.
 */
import { CofferError } from '@coffer/core';

const UNIT_MS: Record<string, number> = {
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** Milliseconds in `text` ("30d"), or a usage error that shows the accepted form. */
export function parseDuration(text: string): number {
  const match = /^(\d{1,6})([mhdw])$/.exec(text.trim());
  const ms = match ? Number(match[1]) * UNIT_MS[match[2]!]! : 0;
  if (ms <= 0) {
    throw new CofferError(
      'USAGE',
      `${text}: a duration is a number and a unit: m (minutes), h, d or w, e.g. 30d`,
    );
  }
  return ms;
}
