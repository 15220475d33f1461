import { describe, expect, test } from 'vitest';
import { admit, gapId, notificationId, startCursor, toGap, toNotification, type StreamStart } from '../../worker/core/feed/cursor';

const at = (epoch: string, seq: number) => ({ epoch, seq });

describe('admit', () => {
  test.each([
    ['the next event', at('e1', 5), at('e1', 6), { k: 'next' }],
    ['a replay of the cursor', at('e1', 5), at('e1', 5), { k: 'duplicate' }],
    ['a replay before the cursor', at('e1', 5), at('e1', 2), { k: 'duplicate' }],
    ['a jump of two', at('e1', 5), at('e1', 8), { k: 'jump', missed: 2 }],
    ['another epoch', at('e1', 5), at('e2', 6), { k: 'other epoch' }],
    ['no cursor yet', null, at('e1', 1), { k: 'no cursor' }],
  ] as const)('%s', (_name, cursor, event, expected) => {
    expect(admit(cursor, event)).toEqual(expected);
  });
});

describe('startCursor', () => {
  const start = (epoch: string, next: number, cursorRefused = false): StreamStart => ({ epoch, next, cursorRefused });

  test.each([
    ['first install, events follow', null, start('e1', 51), at('e1', 50), null],
    ['first install, empty log', null, start('e1', 1), at('e1', 0), null],
    ['recovered: the replay starts right after the cursor', at('e1', 7), start('e1', 8), at('e1', 7), null],
    ['recovered with nothing new', at('e1', 7), start('e1', 8), at('e1', 7), null],
    ['trimmed: 3 events (8, 9, 10) are gone', at('e1', 7), start('e1', 11), at('e1', 10), { reason: 'trimmed', missed: 3 }],
    ['epoch changed', at('e1', 7), start('e2', 3), at('e2', 2), { reason: 'epoch changed', missed: null }],
    ['cursor refused, same epoch', at('e1', 900), start('e1', 41, true), at('e1', 40), { reason: 'epoch changed', missed: null }],
    ['a start behind the cursor never moves it back', at('e1', 7), start('e1', 3), at('e1', 7), null],
  ] as const)('%s', (_name, old, begin, cursor, gap) => {
    expect(startCursor(old, begin)).toEqual({ cursor, gap });
  });
});

describe('entries', () => {
  test('a notification keeps only validated fields and is unread', () => {
    const entry = toNotification({
      t: 'event',
      topic: 'feed:ann',
      epoch: 'e1',
      seq: 4,
      at: 1000,
      data: { title: '<b>Hi</b>', body: 'x', url: 'https://example.test/', extra: 1 },
    });
    expect(entry).toEqual({
      kind: 'notification',
      id: 'feed:ann/e1/4',
      topic: 'feed:ann',
      epoch: 'e1',
      seq: 4,
      at: 1000,
      title: '<b>Hi</b>',
      body: 'x',
      level: 'info',
      url: 'https://example.test/',
      read: false,
    });
  });

  test('a fired alert keeps what fired it', () => {
    const alert = { alertId: 'a1', rule: { symbol: 'AAPL', condition: 'above' as const, price: 200, repeat: 'once' as const }, price: 200.5, firedAt: 9 };
    const entry = toNotification({ t: 'event', topic: 'feed:ann', epoch: 'e1', seq: 5, at: 10, data: { title: 'AAPL above 200', body: 'AAPL hit 200.5', level: 'high', alert } });
    expect(entry).toMatchObject({ level: 'high', alert });
    const bad = toNotification({ t: 'event', topic: 'feed:ann', epoch: 'e1', seq: 6, at: 10, data: { title: 't', body: 'b', alert: { ...alert, price: 'high' } } });
    expect(bad).toBeNull();
  });

  test.each([
    ['no title', { body: 'x' }],
    ['a javascript: url', { title: 't', body: 'b', url: 'javascript:alert(1)' }],
    ['not an object', 'hello'],
  ])('data with %s is not a notification', (_name, data) => {
    expect(toNotification({ t: 'event', topic: 'news', epoch: 'e1', seq: 1, at: 1, data })).toBeNull();
  });

  test('ids are stable and a gap is named after the event that follows it', () => {
    expect(notificationId('news', 'e1', 3)).toBe('news/e1/3');
    expect(gapId('news', 'e1', 3)).toBe('gap/news/e1/3');
    expect(toGap('news', 'e1', 3, { reason: 'trimmed', missed: 2 }, 99)).toEqual({
      kind: 'gap',
      id: 'gap/news/e1/3',
      topic: 'news',
      at: 99,
      reason: 'trimmed',
      missed: 2,
      read: true,
    });
  });
});
