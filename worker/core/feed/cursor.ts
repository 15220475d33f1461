/**
 * The rules of a `stream` topic's cursor, as pure functions: which received event is stored (the
 * next one), skipped (a replay of what is stored, or another epoch) or stored with a gap marker (a
 * jump the server did not announce); where a subscription start leaves the cursor and what it says
 * was missed. The feed store applies them inside its transactions.
 */
import type { EventFrame, StreamPosition } from '../../../lib/wire/protocol';
import { parseNotification } from '../../../lib/wire/notifications';
import { implausibleTime } from '../../../lib/wire/times';
import { type GapEntry, type NotificationEntry } from '../../../lib/rpc/feed-entry';

/** What an event means for a topic whose cursor is `cursor`. */
export type Admission =
  | { readonly k: 'next' }
  /** Stored, after a gap of `missed` events the server never announced. */
  | { readonly k: 'jump'; readonly missed: number }
  /** At or before the cursor: already stored (a replay), so never stored or shown twice. */
  | { readonly k: 'duplicate' }
  /** From another epoch than the cursor's: the log was reset under a live subscription. */
  | { readonly k: 'other epoch' }
  /** No cursor yet: the subscription has not started. */
  | { readonly k: 'no cursor' };

export function admit(cursor: StreamPosition | null, event: StreamPosition): Admission {
  if (!cursor) return { k: 'no cursor' };
  if (event.epoch !== cursor.epoch) return { k: 'other epoch' };
  if (event.seq <= cursor.seq) return { k: 'duplicate' };
  if (event.seq > cursor.seq + 1) return { k: 'jump', missed: event.seq - cursor.seq - 1 };
  return { k: 'next' };
}

/** How a stream subscription starts, from the server's `subscribed`. */
export interface StreamStart {
  /** The log's epoch. */
  readonly epoch: string;
  /** `seq` of the first event that follows (`from`, else the head's `seq` + 1). */
  readonly next: number;
  /** The server refused the stored cursor (`invalid`) and the hub subscribed without it. */
  readonly cursorRefused: boolean;
}

export interface Gap {
  readonly reason: GapEntry['reason'];
  readonly missed: number | null;
}

/**
 * The cursor once a subscription started, and what could not be recovered. The verdict is derived
 * from the stored cursor and the server's position rather than taken from the `recovery` word, so
 * a gap is recorded even if the two disagree: never a silent loss. No cursor (first install) means
 * nothing was missed.
 */
export function startCursor(old: StreamPosition | null, start: StreamStart): { cursor: StreamPosition; gap: Gap | null } {
  const cursor = { epoch: start.epoch, seq: start.next - 1 };
  if (!old) return { cursor, gap: null };
  if (start.cursorRefused || old.epoch !== start.epoch) return { cursor, gap: { reason: 'epoch changed', missed: null } };
  if (cursor.seq > old.seq) return { cursor, gap: { reason: 'trimmed', missed: cursor.seq - old.seq } };
  // Recovered: what follows replays from old.seq + 1 (anything at or before the cursor is skipped).
  return { cursor: old, gap: null };
}

/**
 * The events with every implausible `at` (far from the hub's clock, `lib/wire/times.ts`) replaced
 * by `now`, the time the hub received them, and why the first one was not believed. An event's
 * time only dates and orders it in the feed; its place in the log is its `seq`. Refusing it would
 * either wedge the topic (the cursor could not pass it, and every replay would bring it back) or
 * skip it as if it had been stored; re-dated, it is stored once like any other.
 */
export function redateImplausible(events: readonly EventFrame[], now: number): { events: readonly EventFrame[]; redated: number; why: string | null } {
  let redated = 0;
  let why: string | null = null;
  const out = events.map((event) => {
    const problem = implausibleTime(event.at, now);
    if (problem === null) return event;
    redated++;
    why ??= problem;
    return { ...event, at: now };
  });
  return redated === 0 ? { events, redated, why } : { events: out, redated, why };
}

/** `topic/epoch/seq`: unique and stable, so a replayed event maps to the entry already stored. */
export function notificationId(topic: string, epoch: string, seq: number): string {
  return `${notificationIdPrefix(topic, epoch)}${seq}`;
}

/** What the id of every notification of `topic` in `epoch` starts with. */
export function notificationIdPrefix(topic: string, epoch: string): string {
  return `${topic}/${epoch}/`;
}

/** A gap is named after the first event that follows it, so recording it twice stores it once. */
export function gapId(topic: string, epoch: string, next: number): string {
  return `gap/${topic}/${epoch}/${next}`;
}

/** The stored form of an event, or `null` when its data is not a notification. */
export function toNotification(event: EventFrame): NotificationEntry | null {
  const parsed = parseNotification(event.data);
  if (!parsed.ok) return null;
  const { title, body, level, url, alert } = parsed.value;
  return {
    kind: 'notification',
    id: notificationId(event.topic, event.epoch, event.seq),
    topic: event.topic,
    epoch: event.epoch,
    seq: event.seq,
    at: event.at,
    title,
    body,
    level,
    ...(url === undefined ? {} : { url }),
    ...(alert === undefined ? {} : { alert }),
    read: false,
  };
}

/**
 * The marker stored in place of `count` events in a row, from `seq` on, that are not notifications
 * the hub can read (a buggy or hostile server's): the cursor passes them like any event, so the
 * topic goes on, and the marker says what was not shown instead of skipping them in silence.
 */
export function toUnreadable(topic: string, epoch: string, seq: number, count: number, at: number): GapEntry {
  return { kind: 'gap', id: `unreadable/${topic}/${epoch}/${seq}`, topic, at, reason: 'unreadable', missed: count, read: true };
}

/**
 * A gap marker placed just before the first event that follows it (`at` one millisecond earlier),
 * so sorting by time shows it between what was stored and what came after; `at` is the time it was
 * found when nothing follows.
 */
export function toGap(topic: string, epoch: string, next: number, gap: Gap, at: number): GapEntry {
  return { kind: 'gap', id: gapId(topic, epoch, next), topic, at, reason: gap.reason, missed: gap.missed, read: true };
}
