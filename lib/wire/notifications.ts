/**
 * The payload of `feed:<user>` and `news` events (the entries the hub keeps of them are in
 * `../rpc/feed-entry`). Titles and bodies are untrusted text: views render them as text, never as HTML, and a `url` is
 * kept only when it is http(s).
 */
import * as v from 'valibot';
import { AlertRuleSchema } from './alerts';
import { isPlainObject, parseWith } from '../parse';
import { TimeSchema } from './times';

export const MAX_TITLE_LENGTH = 200;
export const MAX_BODY_LENGTH = 4000;

export type NotificationLevel = 'info' | 'warning' | 'high';

/** True for absolute http(s) URLs; anything else (javascript:, data:, relative) is refused. */
export function isWebUrl(input: unknown): input is string {
  if (typeof input !== 'string' || input.length > 2048) return false;
  try {
    const url = new URL(input);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

export const NotificationSchema = v.object({
  title: v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_TITLE_LENGTH)),
  body: v.pipe(v.string(), v.maxLength(MAX_BODY_LENGTH)),
  level: v.optional(v.picklist(['info', 'warning', 'high'] as const), 'info'),
  url: v.optional(v.pipe(v.string(), v.check((url: string) => isWebUrl(url), 'url must be an absolute http(s) URL'))),
  /** Present on the events the alert engine publishes when a rule fires. */
  alert: v.optional(
    v.object({
      alertId: v.pipe(v.string(), v.maxLength(64)),
      rule: AlertRuleSchema,
      price: v.pipe(v.number(), v.finite()),
      firedAt: TimeSchema,
    }),
  ),
});
/** What a publisher sends and what a stream event's `data` holds. */
export type NotificationData = v.InferOutput<typeof NotificationSchema>;

const LEVELS: ReadonlySet<unknown> = new Set<NotificationLevel>(['info', 'warning', 'high']);

/**
 * The common notification (a title, a body, maybe a level, nothing else) checked the way
 * `NotificationSchema` checks it and given back as the schema gives it (the level defaults to
 * `info`); `undefined` for anything else, which the schema decides. A replay checks thousands of
 * these, and the schema's general walk cost the hub more than the check itself.
 */
export function quickNotification(input: unknown): NotificationData | undefined {
  if (!isPlainObject(input)) return undefined;
  for (const key in input) {
    if (Object.hasOwn(input, key) && key !== 'title' && key !== 'body' && key !== 'level') return undefined;
  }
  const { title, body, level } = input;
  if (typeof title !== 'string' || title.length < 1 || title.length > MAX_TITLE_LENGTH) return undefined;
  if (typeof body !== 'string' || body.length > MAX_BODY_LENGTH) return undefined;
  if (level !== undefined && !LEVELS.has(level)) return undefined;
  return { title, body, level: (level ?? 'info') as NotificationLevel };
}

/** Returns the notification, or the first problem with it as text. */
export function parseNotification(input: unknown): { ok: true; value: NotificationData } | { ok: false; error: string } {
  const quick = quickNotification(input);
  return quick ? { ok: true, value: quick } : parseWith(NotificationSchema, input);
}
