/**
 * What an overlay says, as pure functions: which feed entries call for one (a fired alert, or a
 * notification of level `high`), the item for one entry, and the one summary that stands for
 * several recovered at once, so coming back after a while shows one overlay rather than a flood.
 */
import type { OverlayItem } from '../../../lib/rpc/hub-api';
import type { FeedEntry, NotificationEntry } from '../../../lib/rpc/feed-entry';

/** Titles a summary's body lists before it says how many more there are. */
export const SUMMARY_LINES = 8;

/** True for the entries an overlay is shown for. */
export function callsForOverlay(entry: FeedEntry): entry is NotificationEntry {
  return entry.kind === 'notification' && !entry.read && (entry.alert !== undefined || entry.level === 'high');
}

/** The overlay of one entry; its id is derived from the entry's, so one entry makes one overlay. */
export function overlayOf(entry: NotificationEntry): OverlayItem {
  const kind = entry.alert ? 'alert' : 'notification';
  return { id: `${kind}:${entry.id}`, kind, title: entry.title, body: entry.body, level: entry.level, at: entry.at, entryIds: [entry.id] };
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** One overlay for several entries (two or more), e.g. "3 alerts fired while you were away". */
export function summaryOf(entries: readonly NotificationEntry[]): OverlayItem {
  const alerts = entries.filter((entry) => entry.alert !== undefined).length;
  const others = entries.length - alerts;
  const title =
    others === 0
      ? `${plural(alerts, 'alert', 'alerts')} fired while you were away`
      : alerts === 0
        ? `${plural(others, 'important notification', 'important notifications')} while you were away`
        : `${plural(alerts, 'alert', 'alerts')} and ${plural(others, 'notification', 'notifications')} while you were away`;
  const newestFirst = [...entries].sort((a, b) => b.at - a.at);
  const lines = newestFirst.slice(0, SUMMARY_LINES).map((entry) => entry.title);
  if (entries.length > SUMMARY_LINES) lines.push(`and ${entries.length - SUMMARY_LINES} more`);
  return {
    id: `summary:${newestFirst[0]?.id ?? 'none'}`,
    kind: 'summary',
    title,
    body: lines.join('\n'),
    level: 'high',
    at: newestFirst[0]?.at ?? 0,
    entryIds: entries.map((entry) => entry.id),
  };
}

/** One overlay per entry, or one summary for two or more. */
export function overlaysFor(entries: readonly NotificationEntry[], summarise: boolean): OverlayItem[] {
  if (summarise && entries.length > 1) return [summaryOf(entries)];
  return entries.map(overlayOf);
}
