/**
 * The notification feed: newest first, unread rows marked, each with `Mark read`, and `Mark all
 * read` for the lot. Titles and bodies come from whoever published them, so they are rendered as
 * text only (JSX text children, never `dangerouslySetInnerHTML`), and a `url` becomes a link only
 * when `isWebUrl` accepts it; a `javascript:` or `data:` URL shows no link at all. Gap markers say
 * what the hub could not recover. Each row renders behind its own `Guard`: an entry that cannot be
 * shown becomes one line saying so, and the rest of the feed renders on. Rows are keyed by id and
 * memoised on their entry (and the day, for how times read), so an update re-renders the rows it
 * changed; the list itself is memoised on its props, so price ticks do not touch it.
 */
import type { NotificationLevel } from '../lib/wire/notifications';
import type { FeedEntry, GapEntry, NotificationEntry } from '../lib/rpc/feed-entry';
import { isWebUrl } from '../lib/wire/notifications';
import { topics } from '../lib/wire/topics';
import { formatTime, isoTime, startOfDay } from './format';
import { Guard } from './Guard';
import { memo } from './memo';

export { formatTime } from './format';

export interface NotificationListProps {
  /** Newest first, as `applyFeedUpdates` keeps them. */
  readonly entries: readonly FeedEntry[];
  /** Unread notifications in the whole feed (not only those shown). */
  readonly unread: number;
  readonly onMarkRead: (id: string) => void;
  readonly onMarkAllRead: () => void;
  /** Wall clock in ms, to leave the date out of today's times. Default `Date.now`. */
  readonly now?: () => number;
}

const LEVEL_LABELS: Readonly<Record<NotificationLevel, string>> = { info: 'Info', warning: 'Warning', high: 'High' };

/** What a gap marker says, e.g. `3 notifications could not be recovered`. */
export function describeGap(gap: Pick<GapEntry, 'missed' | 'topic'> & Partial<Pick<GapEntry, 'reason'>>): string {
  const where = gap.topic === topics.news ? ' from News' : '';
  if (gap.missed === null) return `Some notifications${where} may be missing: the server's history was reset`;
  const some = `${gap.missed} notification${gap.missed === 1 ? '' : 's'}${where}`;
  return `${some} could not be ${gap.reason === 'unreadable' ? 'read' : 'recovered'}`;
}

function When({ at, now }: { readonly at: number; readonly now: number }) {
  return (
    <time class="time" dateTime={isoTime(at)}>
      {formatTime(at, now)}
    </time>
  );
}

interface RowProps<E> {
  readonly entry: E;
  /** Local midnight of today (`startOfDay`): times of today show without their date. */
  readonly now: number;
}

function NotificationRow({ entry, now, onMarkRead }: RowProps<NotificationEntry> & { readonly onMarkRead: (id: string) => void }) {
  const unread = !entry.read;
  return (
    <li class={`notification level-${entry.level} ${unread ? 'unread' : 'read'}`} data-id={entry.id} data-unread={String(unread)}>
      <div class="head">
        {unread && (
          <span class="unread-mark" title="Unread">
            <span class="sr-only">Unread: </span>
          </span>
        )}
        <span class={`level level-${entry.level}`}>{LEVEL_LABELS[entry.level]}</span>
        {entry.topic === topics.news && <span class="source">News</span>}
        <When at={entry.at} now={now} />
        {unread && (
          <button type="button" class="mark-read" onClick={() => onMarkRead(entry.id)}>
            Mark read
          </button>
        )}
      </div>
      <p class="title">
        {isWebUrl(entry.url) ? (
          <a href={entry.url} target="_blank" rel="noopener noreferrer">
            {entry.title}
          </a>
        ) : (
          entry.title
        )}
      </p>
      {entry.body !== '' && <p class="body">{entry.body}</p>}
    </li>
  );
}

function GapRow({ entry, now }: RowProps<GapEntry>) {
  return (
    <li class="gap" data-id={entry.id} data-gap={entry.reason}>
      <p class="gap-text">{describeGap(entry)}</p>
      <When at={entry.at} now={now} />
    </li>
  );
}

/** One row behind its `Guard`, rendered again only when its entry, the day or the callback changed. */
const FeedRow = memo(function FeedRow({ entry, now, onMarkRead }: RowProps<FeedEntry> & { readonly onMarkRead: (id: string) => void }) {
  return (
    <Guard what="a notification" value={entry} fallback={<li class="entry-error">This notification could not be shown.</li>}>
      {entry.kind === 'gap' ? <GapRow entry={entry} now={now} /> : <NotificationRow entry={entry} now={now} onMarkRead={onMarkRead} />}
    </Guard>
  );
});

export const NotificationList = memo(function NotificationList({ entries, unread, onMarkRead, onMarkAllRead, now = Date.now }: NotificationListProps) {
  const day = startOfDay(now());
  return (
    <section class="feed">
      <div class="feed-head">
        <h2 id="notifications-heading">Notifications</h2>
        {unread > 0 && <span class="unread-count">{unread} unread</span>}
        <button type="button" class="mark-all" onClick={onMarkAllRead} disabled={unread === 0}>
          Mark all read
        </button>
      </div>
      <ul aria-label="Notifications" class="feed-list">
        {entries.map((entry) => (
          <FeedRow key={entry.id} entry={entry} now={day} onMarkRead={onMarkRead} />
        ))}
      </ul>
      {entries.length === 0 && <p class="empty">No notifications yet.</p>}
    </section>
  );
});
