// @vitest-environment happy-dom
/**
 * Views against values they cannot show: formatting never throws, every list row and the overlay
 * render behind a `Guard` (one bad entry becomes one inert line, the rest render on), and feed
 * entries an older version stored with a time no `Date` can hold still render.
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { act } from 'preact/test-utils';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { AlertList } from '../../components/AlertList';
import { AlertOverlay } from '../../components/AlertOverlay';
import { formatChange, formatPercent, formatPrice, formatTime, isoTime, UNKNOWN } from '../../components/format';
import { Guard } from '../../components/Guard';
import { NotificationList } from '../../components/NotificationList';
import { PriceList } from '../../components/PriceList';
import type { NotificationEntry } from '../../lib/rpc/feed-entry';
import type { AlertItem, OverlayItem } from '../../lib/rpc/hub-api';
import type { PriceTick } from '../../lib/wire/prices';
import { createFeedStore } from '../../worker/store/feed-store';
import { openHubDb } from '../../worker/store/db';
import { button, root, show, useRenderRoot } from '../support/dom';
import { createFakePlatform, createRecordingLogger, jwtFor, TEST_SETTINGS } from '../support/fake-socket';
import { openHub } from '../../worker/core/hub';

useRenderRoot();

const NOW = Date.UTC(2026, 2, 3, 12, 0, 0);
const noop = () => {};

afterEach(() => {
  vi.restoreAllMocks();
});

/** Keeps the boundaries' console warnings out of the output, and counts them. */
const quietWarnings = () => vi.spyOn(console, 'warn').mockImplementation(() => {});

/** An object whose `field` throws when read, as a stand-in for any value a row cannot render. */
function throwingOn<T extends object>(value: T, field: keyof T): T {
  return Object.defineProperty({ ...value }, field, {
    get() {
      throw new TypeError(`cannot read ${String(field)}`);
    },
  });
}

function note(seq: number, overrides: Partial<NotificationEntry> = {}): NotificationEntry {
  return {
    kind: 'notification',
    id: `feed:ann/e1/${seq}`,
    topic: 'feed:ann',
    epoch: 'e1',
    seq,
    at: NOW - seq * 60_000,
    title: `Title ${seq}`,
    body: `Body ${seq}`,
    level: 'info',
    read: false,
    ...overrides,
  };
}

describe('formatting never throws', () => {
  test.each([
    ['1e16, past what a Date holds', 1e16],
    ['-1e16', -1e16],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a string', '2026-03-03'],
    ['undefined', undefined],
    ['an object', { valueOf: (): number => 5 }],
  ])('a time of %s reads %j and has no ISO form', (_name, at) => {
    expect(formatTime(at, NOW)).toBe(UNKNOWN);
    expect(isoTime(at)).toBeUndefined();
  });

  test('valid times still read as times, whatever "now" is', () => {
    expect(formatTime(NOW, NOW)).toMatch(/\d\d.\d\d/);
    expect(formatTime(NOW, Number.NaN)).toMatch(/\d/);
    expect(isoTime(NOW)).toBe('2026-03-03T12:00:00.000Z');
    expect(isoTime(8.64e15)).toBe('+275760-09-13T00:00:00.000Z');
  });

  test.each([
    [1234.5, '1,234.50'],
    [0.000123, '0.000123'],
    [-0.5, '-0.50'],
    [1e300, expect.stringMatching(/^1,000,000/)],
    [Number.NaN, UNKNOWN],
    [Number.POSITIVE_INFINITY, UNKNOWN],
    ['12', UNKNOWN],
    [undefined, UNKNOWN],
  ])('price %s → %s', (price, expected) => {
    expect(formatPrice(price)).toEqual(expected);
  });

  test('changes and percents with absurd numbers still read as text', () => {
    expect(formatChange({ price: 2, prev: 1 })).toBe('▲ 1.00 (+100.00%)');
    expect(formatChange({ price: 1e308, prev: 1e-300 })).toMatch(/^▲ .* \(\+—\)$/);
    expect(formatChange({ price: Number.NaN, prev: 1 })).toBe('• — (—)');
    expect(formatPercent(Number.NaN)).toBe(UNKNOWN);
    expect(formatPercent(-1.234)).toBe('1.23%');
  });
});

describe('events the hub could not read', () => {
  test('show as a marker that says how many', async () => {
    const marker = { kind: 'gap', id: 'unreadable/news/e1/4', topic: 'news', at: NOW, reason: 'unreadable', missed: 2, read: true } as const;
    await show(<NotificationList entries={[note(1), marker]} unread={1} onMarkRead={noop} onMarkAllRead={noop} now={() => NOW} />);
    const rows = [...root.querySelectorAll('ul[aria-label="Notifications"] > li')];
    expect(rows[1]?.textContent).toContain('2 notifications from News could not be read');
    expect(rows[1]?.getAttribute('data-gap')).toBe('unreadable');
  });
});

describe('a notification with a time no Date can hold', () => {
  test('renders with its text and no time; the rest of the feed renders', async () => {
    const entries = [note(1, { at: 1e16, title: 'From the future' }), note(2), note(3)];
    await show(<NotificationList entries={entries} unread={3} onMarkRead={noop} onMarkAllRead={noop} now={() => NOW} />);
    const rows = [...root.querySelectorAll('ul[aria-label="Notifications"] > li')];
    expect(rows.map((row) => row.querySelector('.title')?.textContent)).toEqual(['From the future', 'Title 2', 'Title 3']);
    expect(rows[0]?.querySelector('time')?.textContent).toBe(UNKNOWN);
    expect(rows[0]?.querySelector('time')?.hasAttribute('datetime')).toBe(false);
  });

  test('an overlay with such a time shows its title', async () => {
    const item: OverlayItem = { id: 'alert:x', kind: 'alert', title: 'AAPL above 200', body: '', level: 'high', at: 1e16, entryIds: ['x'] };
    await show(<AlertOverlay item={item} onDismiss={noop} onSnooze={noop} now={() => NOW} />);
    expect(root.querySelector('[role="alert"] .overlay-title')?.textContent).toBe('AAPL above 200');
  });
});

describe('one bad row never blanks the rest', () => {
  test('feed: the row that throws becomes one line saying so; the others render, and Mark read still works', async () => {
    const warn = quietWarnings();
    const onMarkRead = vi.fn();
    const entries = [note(1), throwingOn(note(2), 'title'), note(3)];
    await show(<NotificationList entries={entries} unread={3} onMarkRead={onMarkRead} onMarkAllRead={noop} now={() => NOW} />);
    const rows = [...root.querySelectorAll('ul[aria-label="Notifications"] > li')];
    expect(rows.map((row) => row.textContent)).toEqual([
      expect.stringContaining('Title 1'),
      'This notification could not be shown.',
      expect.stringContaining('Title 3'),
    ]);
    await act(() => button('Mark read', rows[2]!)!.click());
    expect(onMarkRead).toHaveBeenCalledWith('feed:ann/e1/3');
    expect(warn).toHaveBeenCalledWith('could not show a notification', expect.any(TypeError));
  });

  test('prices: a tick that throws becomes one line; the other symbols render', async () => {
    quietWarnings();
    const tick = (symbol: string, price: number): PriceTick => ({ symbol, price, prev: price, at: NOW });
    await show(<PriceList prices={[tick('AAPL', 1), throwingOn(tick('BAD', 2), 'price'), tick('MSFT', 3)]} />);
    const rows = [...root.querySelectorAll('ul[aria-label="Prices"] > li')];
    expect(rows.map((row) => row.querySelector('.symbol')?.textContent ?? row.textContent)).toEqual(['AAPL', 'This price could not be shown.', 'MSFT']);
  });

  test('alerts: an item an older version stored without its rule becomes one line; the others render', async () => {
    quietWarnings();
    const rule = { symbol: 'AAPL', condition: 'above', price: 200, repeat: 'once' } as const;
    const alerts: AlertItem[] = [
      { id: 'a', rule, state: 'active' },
      { id: 'b', rule: undefined as unknown as AlertItem['rule'], state: 'fired', firedAt: 1e16, firedPrice: Number.NaN },
      { id: 'c', rule, state: 'fired', firedAt: 1e16 },
    ];
    await show(<AlertList alerts={alerts} onPause={noop} onDelete={noop} now={() => NOW} />);
    const rows = [...root.querySelectorAll('ul[aria-label="Alerts"] > li')];
    expect(rows.map((row) => row.querySelector('.rule')?.textContent ?? row.textContent)).toEqual(['AAPL above 200', 'This alert could not be shown.', 'AAPL above 200']);
    expect(rows[2]?.querySelector('.fired')?.textContent).toBe(`Fired · ${UNKNOWN}`);
  });

  test('an overlay that cannot be shown still offers Dismiss', async () => {
    quietWarnings();
    const onDismiss = vi.fn();
    const item = throwingOn<OverlayItem>({ id: 'alert:x', kind: 'alert', title: 't', body: '', level: 'high', at: NOW, entryIds: [] }, 'title');
    await show(<AlertOverlay item={item} onDismiss={onDismiss} onSnooze={noop} now={() => NOW} />);
    expect(root.querySelector('[role="alert"]')?.textContent).toContain('An alert arrived that could not be shown.');
    await act(() => button('Dismiss')!.click());
    expect(onDismiss).toHaveBeenCalledOnce();
  });

  test('a guard tries again when its value changes', async () => {
    quietWarnings();
    const Part = ({ value }: { readonly value: number }) => {
      if (value < 0) throw new RangeError('negative');
      return <p class="part">{value}</p>;
    };
    const render = (value: number) =>
      show(
        <Guard what="a part" value={value} fallback={<p class="fallback">no</p>}>
          <Part value={value} />
        </Guard>,
      );
    await render(-1);
    expect(root.textContent).toBe('no');
    await render(2);
    expect(root.querySelector('.part')?.textContent).toBe('2');
  });
});

describe('entries an older version stored', () => {
  test('a feed entry stored with at = 1e16 before times were checked still renders with the rest', async () => {
    const factory = new IDBFactory();
    // What the hub stored before this check: the feed store itself takes any time it is given.
    const db = openHubDb({ factory, log: createRecordingLogger() });
    const store = createFeedStore(db, () => 'ann');
    const event = (seq: number, at: number) => ({ t: 'event' as const, topic: 'feed:ann', epoch: 'e1', seq, at, data: { title: `#${seq}`, body: '' } });
    await store.append('feed:ann', { epoch: 'e1', next: 1, cursorRefused: false }, [event(1, NOW - 1000), event(2, 1e16), event(3, NOW)], NOW);
    db.close();

    const hub = await openHub(createFakePlatform({ indexedDB: factory, settings: { ...TEST_SETTINGS, token: jwtFor('ann') } }));
    try {
      const page = await hub.openSession().feed();
      expect(page.entries.map((entry) => entry.id)).toEqual(['feed:ann/e1/2', 'feed:ann/e1/3', 'feed:ann/e1/1']);
      await show(<NotificationList entries={page.entries} unread={page.unread} onMarkRead={noop} onMarkAllRead={noop} now={() => NOW} />);
      const titles = [...root.querySelectorAll('ul[aria-label="Notifications"] .title')].map((title) => title.textContent);
      expect(titles).toEqual(['#2', '#3', '#1']);
    } finally {
      hub.close();
    }
  });
});
