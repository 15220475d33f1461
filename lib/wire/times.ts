/**
 * Bounds on the times that cross the wire (ms since the epoch). Two kinds: an absolute range every
 * side checks in its schemas (from 1970 to the last time a `Date` can hold, so formatting one
 * cannot throw), and a limit against the receiver's own clock, checked where "now" is known (the
 * hub): a server time years ahead of it is a bug or an attack, and one such value would sit on top
 * of every list sorted by time. Old times are left alone: they only sort down, and a feed may keep
 * history for years.
 */
import * as v from 'valibot';

/**
 * The largest time a `Date` can hold: ±8.64e15 ms, 100 million days either side of 1970
 * (ECMAScript, "Time Values and Time Range"). `new Date(t)` beyond it is an Invalid Date, whose
 * formatting throws `RangeError: Invalid time value`.
 */
export const MAX_TIME = 8.64e15;

const YEAR_MS = 365.25 * 24 * 3600 * 1000;

/** How far after the receiver's clock a server time may lie: one year (clock skew is minutes, not years). */
export const MAX_TIME_AHEAD_MS = YEAR_MS;

/** A wire time: a finite number of ms from 1970 up to `MAX_TIME`. */
export const TimeSchema = v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(MAX_TIME));

/** True when `at` is in the wire range and at most `MAX_TIME_AHEAD_MS` after `now`. */
export function isPlausibleTime(at: unknown, now: number): at is number {
  return typeof at === 'number' && Number.isFinite(at) && at >= 0 && at <= Math.min(MAX_TIME, now + MAX_TIME_AHEAD_MS);
}

/** Why `at` is not a plausible time at `now` (for logs), or `null` when it is. */
export function implausibleTime(at: unknown, now: number): string | null {
  if (isPlausibleTime(at, now)) return null;
  if (typeof at !== 'number' || !Number.isFinite(at)) return `time ${String(at)} is not a finite number`;
  if (at < 0) return `time ${at} is before 1970`;
  const years = (at - now) / YEAR_MS;
  return `time ${at} is ${years < 1e6 ? years.toFixed(1) : years.toExponential(1)} years after the hub's clock`;
}
