/**
 * The entries of the hub's feed, as the hub stores them and views show them: a notification from a
 * stream topic, or a marker where the hub could not recover what it missed.
 */
import type { FiredAlert } from '../wire/alerts';
import type { NotificationLevel } from '../wire/notifications';

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
 * (`epoch changed`, `missed` unknown); or where it received events it could not read as
 * notifications (`unreadable`, `missed` of them in a row).
 */
export interface GapEntry {
  readonly kind: 'gap';
  readonly id: string;
  readonly topic: string;
  readonly at: number;
  readonly reason: 'trimmed' | 'epoch changed' | 'unreadable';
  /** How many events were missed, when the server could tell. */
  readonly missed: number | null;
  readonly read: true;
}

export type FeedEntry = NotificationEntry | GapEntry;
