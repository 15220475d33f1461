/**
 * The value carried by `prices:<SYMBOL>` state topics, and its validation: server-computed `prev`
 * lets a view show the direction of the last move even when it only saw the conflated latest value.
 */
import * as v from 'valibot';
import { SYMBOL_PATTERN } from './ids';
import { TimeSchema } from './times';

/** Largest price accepted anywhere; above it a tick is a typo or an attack, not a market. */
export const MAX_PRICE = 1e12;

const price = v.pipe(v.number(), v.finite(), v.gtValue(0), v.maxValue(MAX_PRICE));

export const PriceTickSchema = v.object({
  symbol: v.pipe(v.string(), v.regex(SYMBOL_PATTERN)),
  price,
  /** The price before this tick (equal to `price` for the first one). */
  prev: price,
  at: TimeSchema,
});
export type PriceTick = v.InferOutput<typeof PriceTickSchema>;

/** Returns the tick, or `null` if the value is not a valid price tick. */
export function parsePriceTick(value: unknown): PriceTick | null {
  const result = v.safeParse(PriceTickSchema, value);
  return result.success ? result.output : null;
}

/** Validates a price as the admin API and the alert form take it. */
export function isValidPrice(value: unknown): value is number {
  return v.is(price, value);
}
