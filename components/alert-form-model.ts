/**
 * What the alert form's fields say, turned into a rule the hub will queue: the text of each field is
 * read the way a person typed it, numbers are parsed strictly, and the result goes through
 * `parseAlertRule` — the same validation the hub and the server apply. The form adds what only the
 * popup knows: the symbols on the price list and their current prices, so an unknown symbol or a
 * threshold a thousand times away from the market is refused before it is ever queued.
 */
import { MAX_THRESHOLD_FACTOR, parseAlertRule, tooFarFromCurrent, type AlertCondition, type AlertRule } from '../lib/wire/alerts';

/** The form's fields as text, exactly as the inputs hold them. */
export interface AlertFormFields {
  readonly symbol: string;
  readonly condition: AlertCondition;
  readonly price: string;
  readonly percent: string;
  readonly windowMinutes: string;
  readonly repeat: 'once' | 'recurring';
  readonly cooldownMinutes: string;
  /** A `datetime-local` value (`2026-05-01T17:30`, local time) or `''`. */
  readonly expires: string;
  readonly note: string;
}

export type AlertField = keyof AlertFormFields;

export const EMPTY_ALERT_FORM: AlertFormFields = {
  symbol: '',
  condition: 'above',
  price: '',
  percent: '',
  windowMinutes: '',
  repeat: 'once',
  cooldownMinutes: '',
  expires: '',
  note: '',
};

/** Labels of the conditions, in the order the select lists them. */
export const CONDITION_LABELS: Readonly<Record<AlertCondition, string>> = {
  above: 'above',
  below: 'below',
  crossing: 'crossing',
  'percent-move': 'percent move',
};

export interface AlertFormContext {
  /**
   * Current price per symbol from the price list. When it is empty (no price heard yet, e.g. the
   * popup opened offline on a fresh profile) symbols are not checked here; the server still is.
   */
  readonly prices: ReadonlyMap<string, number>;
  /** Wall clock in ms, for the expiry. */
  readonly now: number;
}

export type AlertFormResult =
  | { readonly ok: true; readonly rule: AlertRule }
  | { readonly ok: false; readonly field: AlertField | null; readonly message: string };

const fail = (field: AlertField | null, message: string): AlertFormResult => ({ ok: false, field, message });

/** `''` → absent; anything else must read as a plain decimal number. */
function readNumber(text: string): number | undefined | 'bad' {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  // `Number` alone would take `0x10`, `1e3`, `Infinity` and whitespace-only text.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(trimmed)) return 'bad';
  return Number(trimmed);
}

const NUMBER_FIELDS = [
  ['price', 'Price'],
  ['percent', 'Percent'],
  ['windowMinutes', 'Window'],
  ['cooldownMinutes', 'Cooldown'],
] as const satisfies readonly (readonly [AlertField, string])[];

/** Which field a message of `parseAlertRule` is about, from the word it starts with. */
function fieldOf(message: string): AlertField | null {
  const first = message.split(' ')[0] ?? '';
  const byWord: Readonly<Partial<Record<string, AlertField>>> = {
    Symbol: 'symbol',
    Condition: 'condition',
    Price: 'price',
    Percent: 'percent',
    Window: 'windowMinutes',
    Cooldown: 'cooldownMinutes',
    A: 'cooldownMinutes',
    Expiry: 'expires',
    Note: 'note',
  };
  return byWord[first] ?? null;
}

/**
 * Reads the fields into a rule, or says which field is wrong and why. Only the fields the chosen
 * condition and repeat use are read: a stale `Price` left over from another condition does not
 * block a percent move.
 */
export function readAlertForm(fields: AlertFormFields, context: AlertFormContext): AlertFormResult {
  const symbol = fields.symbol.trim().toUpperCase();
  if (symbol === '') return fail('symbol', 'Symbol is required');
  const percentMove = fields.condition === 'percent-move';
  const recurring = fields.repeat === 'recurring';
  const used: Readonly<Record<(typeof NUMBER_FIELDS)[number][0], boolean>> = {
    price: !percentMove,
    percent: percentMove,
    windowMinutes: percentMove,
    cooldownMinutes: recurring,
  };

  const numbers: Partial<Record<AlertField, number>> = {};
  for (const [field, name] of NUMBER_FIELDS) {
    if (!used[field]) continue;
    const value = readNumber(fields[field]);
    if (value === 'bad') return fail(field, `${name} must be a number`);
    if (value === undefined) return fail(field, `${name} is required`);
    numbers[field] = value;
  }

  let expiresAt: number | undefined;
  if (fields.expires.trim() !== '') {
    expiresAt = new Date(fields.expires).getTime();
    if (!Number.isFinite(expiresAt)) return fail('expires', 'Expiry must be a date and time');
  }
  const note = fields.note.trim();

  const parsed = parseAlertRule(
    {
      symbol,
      condition: fields.condition,
      ...(numbers.price === undefined ? {} : { price: numbers.price }),
      ...(numbers.percent === undefined ? {} : { percent: numbers.percent }),
      ...(numbers.windowMinutes === undefined ? {} : { windowMinutes: numbers.windowMinutes }),
      repeat: fields.repeat,
      ...(numbers.cooldownMinutes === undefined ? {} : { cooldownMinutes: numbers.cooldownMinutes }),
      ...(expiresAt === undefined ? {} : { expiresAt }),
      ...(note === '' ? {} : { note }),
    },
    context.now,
  );
  if (!parsed.ok) return fail(fieldOf(parsed.error), parsed.error);
  const rule = parsed.value;

  if (context.prices.size > 0) {
    const current = context.prices.get(rule.symbol);
    if (current === undefined) return fail('symbol', `Unknown symbol ${rule.symbol}: it is not on the price list`);
    if (rule.price !== undefined && tooFarFromCurrent(rule.price, current)) {
      return fail('price', `Price ${rule.price} is more than ${MAX_THRESHOLD_FACTOR}× away from ${rule.symbol}'s current ${current}`);
    }
  }
  return { ok: true, rule };
}
