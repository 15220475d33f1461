/**
 * The payload of `feed:<user>` and `news` events, and the entries the hub keeps in its feed store.
 * Titles and bodies are untrusted text: views render them as text, never as HTML, and a `url` is
 * kept only when it is http(s).
 */
import * as v from 'valibot';
import { AlertRuleSchema, type FiredAlert } from './alerts';
import { parseWith } from './parse';

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
      firedAt: v.pipe(v.number(), v.finite()),
    }),
  ),
});
/** What a publisher sends and what a stream event's `data` holds. */
export type NotificationData = v.InferOutput<typeof NotificationSchema>;

/** Returns the notification, or the first problem with it as text. */
export function parseNotification(input: unknown): { ok: true; value: NotificationData } | { ok: false; error: string } {
  return parseWith(NotificationSchema, input);
}

/** A notification as the hub stored it. `id` is `topic/epoch/seq`, unique and stable. */
export interface NotificationEntry {
  readonly kind: 'notification';
  readonly id: string;
  readonly topic: string;
  readonly epoch: string;
  readonly seq: number;
  /** Server time the event was published (ms). */
  readonly at: number;
  readonly title: string;
  readonly body: string;
  readonly level: NotificationLevel;
  readonly url?: string;
  /** Set when this notification is a fired price alert. */
  readonly alert?: FiredAlert;
  readonly read: boolean;
}

/**
 * A visible marker where the hub could not recover what it missed: the server's log no longer
 * reached back to the cursor (`trimmed`, `missed` events known), or was lost or reset
 * (`epoch changed`, `missed` unknown).
 */
export interface GapEntry {
  readonly kind: 'gap';
  readonly id: string;
  readonly topic: string;
  readonly at: number;
  readonly reason: 'trimmed' | 'epoch changed';
  /** How many events were missed, when the server could tell. */
  readonly missed: number | null;
  readonly read: true;
}

export type FeedEntry = NotificationEntry | GapEntry;
