/**
 * The semantics of alert rules, in one place both engines use, so the index and the reference scan
 * cannot disagree on a boundary:
 * - `above` fires when price >= threshold, `below` when price <= threshold (the threshold itself fires);
 * - `crossing` fires when the previous tick and this one lie on opposite sides of the threshold, or
 *   this one is exactly on it; a rule that has seen no tick yet has no previous, so only "exactly
 *   on it" fires;
 * - `percent-move` fires when |price - reference| / reference * 100 >= percent for some reference
 *   among the ticks the rule saw within the last `windowMinutes` (inclusive of the window's start);
 * - `once` fires one time (status `fired`); `recurring` again once `cooldownMinutes` have passed
 *   since the last firing (a tick exactly at the end of the cooldown fires);
 * - at or after `expiresAt` an active or paused alert becomes `expired` and never fires; paused
 *   alerts never fire.
 */
import type { AlertRule, ServerAlert } from '../../lib/wire/alerts';

const MINUTE_MS = 60_000;

/**
 * The largest move, in percent, of `price` from any reference between `lo` and `hi` (the lowest and
 * highest references). |p - r| / r grows as r moves away from p on either side, so the extremes
 * are the only candidates. Multiplying before dividing keeps round cases exact (5 * 100 / 100 = 5).
 */
export function percentMove(price: number, lo: number, hi: number): number {
  return Math.max(((price - lo) * 100) / lo, ((hi - price) * 100) / hi);
}

/** `crossing` with a previous tick: opposite sides, or exactly on the threshold. */
export function crossed(prev: number | undefined, price: number, threshold: number): boolean {
  if (price === threshold) return true;
  if (prev === undefined) return false;
  return (prev < threshold && price > threshold) || (prev > threshold && price < threshold);
}

/** The window of a `percent-move` rule in ms (0 for other conditions). */
export const windowMs = (rule: AlertRule): number => (rule.windowMinutes ?? 0) * MINUTE_MS;

/** When a recurring alert may fire again; `undefined` when nothing holds it back. */
export function rearmAt(alert: ServerAlert): number | undefined {
  if (alert.rule.repeat !== 'recurring' || alert.firedAt === undefined) return undefined;
  return alert.firedAt + (alert.rule.cooldownMinutes ?? 0) * MINUTE_MS;
}

/** True when the alert may expire (active or paused) and its expiry has come. */
export function isDue(alert: ServerAlert, now: number): boolean {
  return (alert.status === 'active' || alert.status === 'paused') && alert.rule.expiresAt !== undefined && now >= alert.rule.expiresAt;
}

/** The alert after firing at `price`. */
export function firedAlert(alert: ServerAlert, price: number, at: number): ServerAlert {
  return { ...alert, status: alert.rule.repeat === 'recurring' ? 'active' : 'fired', firedAt: at, firedPrice: price, fireCount: alert.fireCount + 1 };
}

/** The alert after its expiry passed. */
export const expiredAlert = (alert: ServerAlert): ServerAlert => ({ ...alert, status: 'expired' });

/** Newest first; ties by id so the order is stable. */
export function newestFirst(a: ServerAlert, b: ServerAlert): number {
  return b.createdAt - a.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
