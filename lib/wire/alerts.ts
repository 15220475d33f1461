/**
 * Price alert rules, as the popup form, the hub's outbox and the server's alert engine all see them,
 * validated by one schema so a rule refused by the form is refused by the server for the same
 * reason. Also the client message kinds that carry them and what the server holds per alert.
 */
import * as v from 'valibot';
import { SYMBOL_PATTERN } from './ids';
import { MAX_PRICE } from './prices';
import { MAX_TIME } from './times';

export type AlertCondition = 'above' | 'below' | 'crossing' | 'percent-move';
export const ALERT_CONDITIONS: readonly AlertCondition[] = ['above', 'below', 'crossing', 'percent-move'];

/** Longest window a percent-move rule may watch: one day. */
export const MAX_WINDOW_MINUTES = 24 * 60;
/** Longest cooldown between firings of a recurring rule: one week. */
export const MAX_COOLDOWN_MINUTES = 7 * 24 * 60;
export const MAX_NOTE_LENGTH = 200;
/**
 * Most alerts one user may hold on the server. The whole list travels as one `alerts:<user>` value:
 * 100 alerts with the longest notes stay near 36 KB, inside the 64 KiB frame limit.
 */
export const MAX_ALERTS_PER_USER = 100;

/**
 * A threshold further than this factor from the symbol's current price, either way, is a typo, not
 * a plan: the form and the server both refuse it.
 */
export const MAX_THRESHOLD_FACTOR = 1000;

/** True when `price` is more than `MAX_THRESHOLD_FACTOR` times above or below `current`. */
export function tooFarFromCurrent(price: number, current: number): boolean {
  return Math.max(price / current, current / price) > MAX_THRESHOLD_FACTOR;
}

const threshold = v.pipe(v.number('Price must be a number'), v.finite('Price must be a finite number'), v.gtValue(0, 'Price must be above 0'), v.maxValue(MAX_PRICE, 'Price is absurdly large'));

/**
 * A rule as the user wrote it. `above`/`below` fire when the price is at or beyond `price`;
 * `crossing` fires when consecutive ticks are on opposite sides of `price` or one lands on it;
 * `percent-move` fires when the price moved by at least `percent` (either way) within the last
 * `windowMinutes`. `once` rules fire one time; `recurring` ones again after `cooldownMinutes`.
 */
export const AlertRuleSchema = v.pipe(
  v.object({
    symbol: v.pipe(v.string(), v.regex(SYMBOL_PATTERN, 'Symbol must be 1-12 capital letters, digits, "." or "-"')),
    condition: v.picklist(ALERT_CONDITIONS, 'Condition must be above, below, crossing or percent-move'),
    price: v.optional(threshold),
    percent: v.optional(v.pipe(v.number('Percent must be a number'), v.finite(), v.gtValue(0, 'Percent must be above 0'), v.maxValue(1000, 'Percent must be at most 1000'))),
    windowMinutes: v.optional(v.pipe(v.number(), v.integer('Window must be whole minutes'), v.minValue(1, 'Window must be at least 1 minute'), v.maxValue(MAX_WINDOW_MINUTES, 'Window must be at most 1440 minutes'))),
    repeat: v.optional(v.picklist(['once', 'recurring'] as const), 'once'),
    cooldownMinutes: v.optional(v.pipe(v.number(), v.integer('Cooldown must be whole minutes'), v.minValue(1, 'Cooldown must be at least 1 minute'), v.maxValue(MAX_COOLDOWN_MINUTES, 'Cooldown must be at most a week'))),
    /** Wall-clock ms after which the rule no longer fires. */
    expiresAt: v.optional(v.pipe(v.number(), v.finite(), v.gtValue(0), v.maxValue(MAX_TIME, 'Expiry is too far in the future'))),
    note: v.optional(v.pipe(v.string(), v.maxLength(MAX_NOTE_LENGTH, 'Note must be at most 200 characters'))),
  }),
  v.check((r) => r.condition === 'percent-move' || r.price !== undefined, 'Price is required for this condition'),
  v.check((r) => r.condition !== 'percent-move' || (r.percent !== undefined && r.windowMinutes !== undefined), 'Percent and window are required for a percent move'),
  v.check((r) => r.repeat !== 'recurring' || r.cooldownMinutes !== undefined, 'A recurring alert needs a cooldown'),
);
export type AlertRule = v.InferOutput<typeof AlertRuleSchema>;

/** Validates a rule; `now` lets the caller refuse an expiry already in the past. */
export function parseAlertRule(input: unknown, now?: number): { ok: true; value: AlertRule } | { ok: false; error: string } {
  const result = v.safeParse(AlertRuleSchema, input);
  if (!result.success) return { ok: false, error: result.issues[0].message };
  if (now !== undefined && result.output.expiresAt !== undefined && result.output.expiresAt <= now) {
    return { ok: false, error: 'Expiry must be in the future' };
  }
  return { ok: true, value: result.output };
}

/** Client message kinds (`send {id, kind, body}`); each `id` is the outbox's idempotency id. */
export type AlertMessage =
  | { readonly kind: 'alert.create'; readonly body: { readonly alertId: string; readonly rule: AlertRule } }
  | { readonly kind: 'alert.update'; readonly body: { readonly alertId: string; readonly rule: AlertRule } }
  | { readonly kind: 'alert.pause'; readonly body: { readonly alertId: string; readonly paused: boolean } }
  | { readonly kind: 'alert.delete'; readonly body: { readonly alertId: string } };
export type AlertMessageKind = AlertMessage['kind'];

/** An alert's life on the server. */
export type AlertStatus = 'active' | 'paused' | 'fired' | 'expired';

/** An alert as the server holds it: the value of the `alerts:<user>` state topic lists these. */
export interface ServerAlert {
  readonly id: string;
  readonly rule: AlertRule;
  readonly status: AlertStatus;
  readonly createdAt: number;
  readonly firedAt?: number;
  readonly firedPrice?: number;
  readonly fireCount: number;
}

/** Value of the `alerts:<user>` state topic: every alert the server holds for that user. */
export interface AlertsState {
  readonly alerts: readonly ServerAlert[];
}

/** What a fired alert's feed event carries besides title and body (`NotificationData.alert`). */
export interface FiredAlert {
  readonly alertId: string;
  readonly rule: AlertRule;
  readonly price: number;
  readonly firedAt: number;
}

/** Human words for a rule, e.g. `AAPL above 200`, `BTC-USD moves 5% within 60 min`. */
export function describeRule(rule: AlertRule): string {
  switch (rule.condition) {
    case 'above':
    case 'below':
    case 'crossing':
      return `${rule.symbol} ${rule.condition} ${rule.price}`;
    case 'percent-move':
      return `${rule.symbol} moves ${rule.percent}% within ${rule.windowMinutes} min`;
  }
}
