// @vitest-environment happy-dom
import { act } from 'preact/test-utils';
import { describe, expect, test, vi } from 'vitest';
import { applyFeedSnapshot, applyFeedUpdates, compareNewestFirst, EMPTY_FEED } from '../../components/hub-state';
import { describeGap, NotificationList } from '../../components/NotificationList';
import type { FeedPage, TopicUpdate } from '../../lib/rpc/hub-api';
import type { FeedEntry, GapEntry, NotificationEntry } from '../../lib/rpc/feed-entry';
import { button, root, show, useRenderRoot } from '../support/dom';

useRenderRoot();

const T0 = Date.UTC(2026, 2, 3, 12, 0, 0);

function note(seq: number, overrides: Partial<NotificationEntry> = {}): NotificationEntry {
  const topic = overrides.topic ?? 'feed:ann';
  return {
    kind: 'notification',
    id: `${topic}/e1/${seq}`,
    topic,
    epoch: 'e1',
    seq,
    at: T0 + seq * 1000,
    title: `Title ${seq}`,
    body: `Body ${seq}`,
    level: 'info',
    read: false,
    ...overrides,
  };
}

function gap(overrides: Partial<GapEntry> = {}): GapEntry {
  return { kind: 'gap', id: 'gap:feed:ann/1', topic: 'feed:ann', at: T0, reason: 'trimmed', missed: 3, read: true, ...overrides };
}

const noop = () => {};
const list = () => root.querySelector('ul[aria-label="Notifications"]');
const rows = () => [...(list()?.querySelectorAll(':scope > li') ?? [])];

describe('NotificationList', () => {
  test('lists entries in the order given (newest first), unread ones marked', async () => {
    const entries = [note(3), note(2, { read: true }), note(1)];
    await show(<NotificationList entries={entries} unread={2} onMarkRead={noop} onMarkAllRead={noop} />);
    expect(rows().map((row) => row.querySelector('.title')?.textContent)).toEqual(['Title 3', 'Title 2', 'Title 1']);
    expect(rows().map((row) => row.getAttribute('data-unread'))).toEqual(['true', 'false', 'true']);
    expect(rows()[0]?.textContent).toContain('Unread');
    expect(rows()[1]?.textContent).not.toContain('Unread');
    expect(rows()[0]?.querySelector('time')?.getAttribute('datetime')).toBe(new Date(T0 + 3000).toISOString());
    expect(root.querySelector('.unread-count')?.textContent).toBe('2 unread');
  });

  test('shows the level and marks news', async () => {
    await show(
      <NotificationList
        entries={[note(2, { level: 'high' }), note(1, { topic: 'news', level: 'warning' })]}
        unread={2}
        onMarkRead={noop}
        onMarkAllRead={noop}
      />,
    );
    expect(rows()[0]?.querySelector('.level')?.textContent).toBe('High');
    expect(rows()[0]?.className).toContain('level-high');
    expect(rows()[1]?.querySelector('.level')?.textContent).toBe('Warning');
    expect(rows()[1]?.querySelector('.source')?.textContent).toBe('News');
  });

  test('hostile titles and bodies stay inert text', async () => {
    const title = '<img src=x onerror=alert(1)>';
    const body = '<script>window.pwned = 1</script><b>bold</b><a href="javascript:alert(1)">x</a>';
    await show(<NotificationList entries={[note(1, { title, body })]} unread={1} onMarkRead={noop} onMarkAllRead={noop} />);
    const row = rows()[0]!;
    expect(row.querySelector('img, script, b, a, iframe')).toBeNull();
    expect(row.querySelector('.title')?.textContent).toBe(title);
    expect(row.querySelector('.body')?.textContent).toBe(body);
    expect(root.innerHTML).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect((globalThis as { pwned?: number }).pwned).toBeUndefined();
  });

  test.each([
    ['javascript:alert(1)'],
    ['JaVaScRiPt:alert(1)'],
    ['data:text/html,<script>alert(1)</script>'],
    ['/relative/path'],
    ['ftp://example.com/file'],
  ])('a url of %s is not linked', async (url) => {
    await show(<NotificationList entries={[note(1, { url })]} unread={1} onMarkRead={noop} onMarkAllRead={noop} />);
    expect(root.querySelector('a')).toBeNull();
    expect(rows()[0]?.querySelector('.title')?.textContent).toBe('Title 1');
  });

  test('an http(s) url opens in a new tab without an opener', async () => {
    await show(
      <NotificationList entries={[note(1, { url: 'https://example.com/a?b=1' })]} unread={1} onMarkRead={noop} onMarkAllRead={noop} />,
    );
    const link = root.querySelector('a');
    expect(link?.getAttribute('href')).toBe('https://example.com/a?b=1');
    expect(link?.getAttribute('target')).toBe('_blank');
    expect(link?.getAttribute('rel')).toBe('noopener noreferrer');
    expect(link?.textContent).toBe('Title 1');
  });

  test('gap markers say what could not be recovered', async () => {
    await show(
      <NotificationList
        entries={[note(9), gap({ missed: 3 }), gap({ id: 'g2', reason: 'epoch changed', missed: null }), gap({ id: 'g3', missed: 1, topic: 'news' })]}
        unread={1}
        onMarkRead={noop}
        onMarkAllRead={noop}
      />,
    );
    const texts = rows().slice(1).map((row) => row.textContent ?? '');
    expect(texts[0]).toContain('3 notifications could not be recovered');
    expect(texts[1]).toContain("Some notifications may be missing: the server's history was reset");
    expect(texts[2]).toContain('1 notification from News could not be recovered');
    expect(rows().slice(1).every((row) => button('Mark read', row) === null)).toBe(true);
  });

  test('Mark read and Mark all read call back; read rows have no Mark read', async () => {
    const onMarkRead = vi.fn();
    const onMarkAllRead = vi.fn();
    await show(<NotificationList entries={[note(2), note(1, { read: true })]} unread={1} onMarkRead={onMarkRead} onMarkAllRead={onMarkAllRead} />);
    expect(button('Mark read', rows()[1]!)).toBeNull();
    await act(() => button('Mark read', rows()[0]!)!.click());
    expect(onMarkRead).toHaveBeenCalledWith('feed:ann/e1/2');
    await act(() => button('Mark all read')!.click());
    expect(onMarkAllRead).toHaveBeenCalledTimes(1);
  });

  test('with nothing unread, Mark all read is disabled', async () => {
    await show(<NotificationList entries={[note(1, { read: true })]} unread={0} onMarkRead={noop} onMarkAllRead={noop} />);
    expect(button('Mark all read')?.disabled).toBe(true);
    expect(root.querySelector('.unread-count')).toBeNull();
  });

  test('says so when the feed is empty', async () => {
    await show(<NotificationList entries={[]} unread={0} onMarkRead={noop} onMarkAllRead={noop} />);
    expect(list()).not.toBeNull();
    expect(root.textContent).toContain('No notifications yet');
  });
});

describe('describeGap', () => {
  test.each([
    [{ missed: 0, topic: 'feed:a' }, '0 notifications could not be recovered'],
    [{ missed: 1, topic: 'feed:a' }, '1 notification could not be recovered'],
    [{ missed: 250, topic: 'feed:a' }, '250 notifications could not be recovered'],
    [{ missed: null, topic: 'news' }, "Some notifications from News may be missing: the server's history was reset"],
  ])('%j reads %s', (input, text) => {
    expect(describeGap(input)).toBe(text);
  });
});

describe('feed book', () => {
  const feedUpdate = (changed: FeedEntry[], unread: number): TopicUpdate => ({ kind: 'feed', changed, unread });
  const ids = (page: FeedPage) => page.entries.map((entry) => entry.id);

  test('new entries go in newest first, by time then seq', () => {
    const page = applyFeedUpdates(EMPTY_FEED, [feedUpdate([note(1), note(3)], 2), feedUpdate([note(2)], 3)]);
    expect(ids(page)).toEqual(['feed:ann/e1/3', 'feed:ann/e1/2', 'feed:ann/e1/1']);
    expect(page.unread).toBe(3);
    const sameTime = [note(5, { at: T0 }), note(6, { at: T0 }), gap({ at: T0 })].sort(compareNewestFirst);
    expect(sameTime.map((e) => e.id)).toEqual(['feed:ann/e1/6', 'feed:ann/e1/5', 'gap:feed:ann/1']);
  });

  test('an entry sent again replaces its row instead of adding one', () => {
    const first = applyFeedUpdates(EMPTY_FEED, [feedUpdate([note(1), note(2)], 2)]);
    const again = applyFeedUpdates(first, [feedUpdate([note(2), note(1, { read: true })], 1)]);
    expect(ids(again)).toEqual(['feed:ann/e1/2', 'feed:ann/e1/1']);
    expect(again.entries.map((e) => e.read)).toEqual([false, true]);
    expect(again.unread).toBe(1);
  });

  test('a row once read stays read when an older copy arrives later', () => {
    const read = applyFeedUpdates(EMPTY_FEED, [feedUpdate([note(1, { read: true })], 0)]);
    const stale = applyFeedSnapshot(read, { entries: [note(1)], unread: 1 });
    expect(stale.entries[0]?.read).toBe(true);
  });

  test('a snapshot keeps updates that overtook it and takes its unread count', () => {
    const live = applyFeedUpdates(EMPTY_FEED, [feedUpdate([note(4)], 1)]);
    const page = applyFeedSnapshot(live, { entries: [note(3), note(2, { read: true }), gap()], unread: 2 });
    expect(ids(page)).toEqual(['feed:ann/e1/4', 'feed:ann/e1/3', 'feed:ann/e1/2', 'gap:feed:ann/1']);
    expect(page.unread).toBe(2);
  });

  test('keeps at most the page size, dropping the oldest', () => {
    const many = Array.from({ length: 60 }, (_, i) => note(i + 1));
    const page = applyFeedUpdates(EMPTY_FEED, [feedUpdate(many, 60)], 50);
    expect(page.entries).toHaveLength(50);
    expect(page.entries[0]?.id).toBe('feed:ann/e1/60');
    expect(page.entries.at(-1)?.id).toBe('feed:ann/e1/11');
  });

  test('a batch without feed updates returns the same page', () => {
    const page = applyFeedUpdates(EMPTY_FEED, [feedUpdate([note(1)], 1)]);
    expect(applyFeedUpdates(page, [{ kind: 'state', topic: 'prices:AAPL', value: 1, at: 1 }])).toBe(page);
  });
});
