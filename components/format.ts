/**
 * Times and prices in words, for every view. Each function is total: whatever a value holds (a time
 * a `Date` cannot hold, `NaN`, a string where a number belongs, left in IndexedDB by an older
 * version), it returns text and never throws, because `Intl` and `Date` throw `RangeError` on such
 * values and one bad value must not take a list down with it.
 */
import type { PriceTick } from '../lib/wire/prices';

/** Shown in place of a time or number that cannot be formatted. */
export const UNKNOWN = '—';

const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateAndTime = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

/** `at` as a valid `Date`, or `null` for anything else. */
function dateOf(at: unknown): Date | null {
  if (typeof at !== 'number' || !Number.isFinite(at)) return null;
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** `14:05` for today, `Mar 3, 14:05` otherwise (in the user's locale); `—` for no valid time. */
export function formatTime(at: unknown, now: number): string {
  const date = dateOf(at);
  if (!date) return UNKNOWN;
  try {
    const today = dateOf(now)?.toDateString();
    return (date.toDateString() === today ? timeOnly : dateAndTime).format(date);
  } catch {
    return UNKNOWN;
  }
}

/**
 * Local midnight of the day `now` falls in, in ms (`now` itself when it is no valid time). Rows
 * that show times take this instead of the wall clock, so they render again when the day changes
 * (`formatTime` drops the date for today's times), not on every render of their list.
 */
export function startOfDay(now: number): number {
  const date = dateOf(now);
  return date ? date.setHours(0, 0, 0, 0) : now;
}

/** The ISO form of `at` for a `<time dateTime>` attribute, or `undefined` (no attribute) for no valid time. */
export function isoTime(at: unknown): string | undefined {
  try {
    return dateOf(at)?.toISOString();
  } catch {
    return undefined;
  }
}

// Made once: `toLocaleString` with options builds a new formatter on every call, which is most of
// what a price row costs to render.
const cents = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const fractions = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 6 });

/** Two decimals for ordinary prices, more for prices below 1 so they do not read as 0.00; `—` for no number. */
export function formatPrice(price: unknown): string {
  if (typeof price !== 'number' || !Number.isFinite(price)) return UNKNOWN;
  try {
    return (Math.abs(price) < 1 ? fractions : cents).format(price);
  } catch {
    return String(price);
  }
}

/** A percentage with two decimals and no sign, e.g. `0.84%`; `—` for no number. */
export function formatPercent(percent: unknown): string {
  return typeof percent === 'number' && Number.isFinite(percent) ? `${Math.abs(percent).toFixed(2)}%` : UNKNOWN;
}

type Direction = 'up' | 'down' | 'flat';

/** Which way the last move went (`flat` when it cannot be told). */
export const directionOf = (tick: Pick<PriceTick, 'price' | 'prev'>): Direction => (tick.price > tick.prev ? 'up' : tick.price < tick.prev ? 'down' : 'flat');
const ARROWS: Readonly<Record<Direction, string>> = { up: '▲', down: '▼', flat: '•' };

/** The move from `prev` to `price`, e.g. `▲ 1.25 (+0.84%)`. */
export function formatChange(tick: Pick<PriceTick, 'price' | 'prev'>): string {
  const diff = tick.price - tick.prev;
  const percent = tick.prev > 0 ? (diff / tick.prev) * 100 : 0;
  const sign = diff > 0 ? '+' : diff < 0 ? '−' : '';
  return `${ARROWS[directionOf(tick)]} ${formatPrice(Math.abs(diff))} (${sign}${formatPercent(percent)})`;
}
