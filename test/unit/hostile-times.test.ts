/**
 * Times from a hostile or buggy server: the wire range every schema checks (a time a `Date` can
 * hold), and the hub's own limit against its clock. A stream event with an absurd time is stored
 * once, at the time it arrived, so the topic neither wedges nor skips it; a `state` value with one is
 * refused with a logged reason and changes nothing. Fake socket, fresh fake-indexeddb per test.
 */
import { encode } from '@msgpack/msgpack';
import { describe, expect, test } from 'vitest';
import type { AlertsUpdate, StateUpdate } from '../../lib/rpc/hub-api';
import type { ServerAlert } from '../../lib/wire/alerts';
import { createCodec } from '../../lib/wire/codec';
import { implausibleTime, isPlausibleTime, MAX_TIME, MAX_TIME_AHEAD_MS } from '../../lib/wire/times';
import { connect, ev, freshStart, ids, start, subscribed } from '../support/feed-hub';
import { waitUntil } from '../support/fake-socket';
import { listenAll, useHubHarness } from '../support/hub-harness';

const codec = createCodec();
const NOW = Date.UTC(2026, 2, 3, 12);
const YEAR = 365.25 * 24 * 3600 * 1000;

describe('the time rules', () => {
  test.each([
    ['now', NOW, true],
    ['1970', 0, true],
    ['twenty years ago', NOW - 20 * YEAR, true],
    ['a day ahead (clock skew)', NOW + 24 * 3600 * 1000, true],
    ['just under a year ahead', NOW + MAX_TIME_AHEAD_MS, true],
    ['two years ahead', NOW + 2 * YEAR, false],
    ['1e16, past what a Date holds', 1e16, false],
    ['before 1970', -1, false],
    ['NaN', Number.NaN, false],
    ['Infinity', Number.POSITIVE_INFINITY, false],
    ['a string', '1763900000000', false],
  ])('%s → plausible: %s', (_name, at, expected) => {
    expect(isPlausibleTime(at, NOW)).toBe(expected);
    expect(implausibleTime(at, NOW) === null).toBe(expected);
  });

  test('the reason names the time and how far ahead it is', () => {
    expect(implausibleTime(NOW + 3 * YEAR, NOW)).toBe(`time ${NOW + 3 * YEAR} is 3.0 years after the hub's clock`);
    expect(implausibleTime(1e16, NOW)).toBe("time 10000000000000000 is 316824.7 years after the hub's clock");
  });

  test.each([
    ['state', { t: 'state', topic: 'prices:AAPL', value: {}, at: 1e16 }],
    ['ping', { t: 'ping', at: MAX_TIME + 1 }],
    ['welcome', { t: 'welcome', v: 1, session: 's', user: 'dev', heartbeatMs: 15_000, serverTime: 1e16, maxFrameBytes: 65_536 }],
    ['refreshed', { t: 'refreshed', user: 'dev', tokenExpiresAt: 1e300 }],
  ])('a %s frame with a time no Date can hold is refused by the codec, naming the field', (_t, frame) => {
    expect(codec.decodeServerFrame(encode(frame))).toMatchObject({ ok: false, code: 'bad-frame', message: expect.stringMatching(/at|serverTime|tokenExpiresAt/) });
  });

  test("an event's time is left to the hub (it re-dates, rather than leave a hole in the log)", () => {
    const frame = { t: 'event', topic: 'news', epoch: 'e1', seq: 1, data: { title: 'x', body: '' }, at: 1e16 };
    expect(codec.decodeServerFrame(encode(frame))).toMatchObject({ ok: true });
  });
});

describe('in the hub', () => {
  useHubHarness();

  test('an event with at = 1e16 between good ones is stored once, at the time it arrived; the feed pages and the stream goes on', async () => {
    const { hub, socket, platform } = await start();
    await connect(hub, socket());
    const bad = { ...ev('feed:ann', 'f1', 2, 'from the future'), at: 1e16 };
    await freshStart(hub, socket(), [ev('feed:ann', 'f1', 1), bad, ev('feed:ann', 'f1', 3)]);
    const arrived = Date.now();

    const page = await hub.openSession().feed();
    expect(ids(page.entries)).toEqual(['feed:ann/f1/2', 'feed:ann/f1/3', 'feed:ann/f1/1']);
    expect(page.entries.find((entry) => entry.id === 'feed:ann/f1/2')?.at).toBe(arrived);
    expect(page.unread).toBe(3);
    expect(platform.log.warnings()).toContainEqual({
      level: 'warn',
      message: 'stream events with an implausible time are stored at the time they arrived',
      data: { topic: 'feed:ann', count: 1, why: expect.stringMatching(/^time 10000000000000000 is .* after the hub's clock$/) },
    });

    // The cursor passed it: the next event is stored, and a replay of it is not stored again.
    socket().receive(ev('feed:ann', 'f1', 4)).receive(bad);
    await hub.idle();
    const after = await hub.openSession().feed();
    expect(ids(after.entries)).toHaveLength(4);
    expect(after.entries[0]?.id).toBe('feed:ann/f1/2');
  });

  test('an event two years ahead is re-dated too; one a day ahead keeps its time', async () => {
    const { hub, socket } = await start();
    await connect(hub, socket());
    const skewed = Date.now() + 24 * 3600 * 1000;
    await freshStart(hub, socket(), [{ ...ev('feed:ann', 'f1', 1), at: Date.now() + 2 * YEAR }, { ...ev('feed:ann', 'f1', 2), at: skewed }]);
    const page = await hub.openSession().feed();
    expect(page.entries.map((entry) => [entry.id, entry.at])).toEqual([
      ['feed:ann/f1/2', skewed],
      ['feed:ann/f1/1', Date.now()],
    ]);
  });

  test('a price whose time is years ahead is refused with a logged reason; the last good one stays', async () => {
    const { hub, socket, platform } = await start();
    socket().accept({ user: 'ann' });
    const session = hub.openSession();
    const updates = await listenAll(session);
    await session.subscribe(['prices:AAPL']);
    const tick = (price: number, at: number) => ({ symbol: 'AAPL', price, prev: price, at });
    socket().receive({ t: 'state', topic: 'prices:AAPL', value: tick(10, Date.now()), at: Date.now() });
    socket().receive({ t: 'state', topic: 'prices:AAPL', value: tick(11, Date.now() + 2 * YEAR), at: Date.now() });
    socket().receive({ t: 'state', topic: 'prices:AAPL', value: tick(12, Date.now()), at: Date.now() + 2 * YEAR });
    socket().receive({ t: 'state', topic: 'prices:AAPL', value: tick(13, 1e16), at: Date.now() });
    await waitUntil('the good price', () => updates.length > 0);
    await hub.idle();

    const prices = updates.filter((update): update is StateUpdate => update.kind === 'state').map((update) => (update.value as { price: number }).price);
    expect(prices).toEqual([10]);
    const refusals = platform.log.warnings().filter((entry) => entry.message === 'ignored an invalid state value');
    expect(refusals.map((entry) => entry.data?.why)).toEqual([
      expect.stringMatching(/^tick time \d+ is 2\.0 years after the hub's clock$/),
      expect.stringMatching(/^frame time \d+ is 2\.0 years after/),
      'not a valid price tick',
    ]);
    // A late view still gets the last good value from the cache.
    const late = hub.openSession();
    const lateUpdates = await listenAll(late);
    await late.subscribe(['prices:AAPL']);
    await waitUntil('the cached price', () => lateUpdates.length > 0);
    expect(lateUpdates).toMatchObject([{ kind: 'state', value: { price: 10 } }]);
  });

  test('an alert list with a firing time years ahead is refused; the list shown stays', async () => {
    const { hub, socket, platform } = await start();
    const session = hub.openSession();
    const updates = await listenAll(session);
    const alertUpdates = () => updates.filter((update): update is AlertsUpdate => update.kind === 'alerts');
    socket().accept({ user: 'ann' });
    const alert = (id: string, firedAt: number): ServerAlert => ({
      id,
      rule: { symbol: 'AAPL', condition: 'above', price: 200, repeat: 'once' },
      status: 'fired',
      createdAt: Date.now(),
      firedAt,
      firedPrice: 201,
      fireCount: 1,
    });
    socket().receive({ t: 'state', topic: 'alerts:ann', value: { alerts: [alert('a', Date.now())] }, at: Date.now() });
    await waitUntil('the list', () => alertUpdates().length === 1);
    socket().receive({ t: 'state', topic: 'alerts:ann', value: { alerts: [alert('b', Date.now() + 5 * YEAR)] }, at: Date.now() });
    socket().receive({ t: 'state', topic: 'alerts:ann', value: { alerts: [alert('c', 1e16)] }, at: Date.now() });
    await hub.idle();
    expect((await session.alerts()).map((item) => item.id)).toEqual(['a']);
    expect(alertUpdates()).toHaveLength(1);
    expect(platform.log.warnings().filter((entry) => entry.message === 'ignored an invalid state value').map((entry) => entry.data?.why)).toEqual([
      expect.stringMatching(/^not a valid alert list: alerts\.0: time \d+ is 5\.0 years after/),
      expect.stringMatching(/^not a valid alert list: alerts\.0\.firedAt: /),
    ]);
  });

  test('a fired alert whose firing time no Date holds cannot be read: a marker says so and the feed goes on', async () => {
    const { hub, socket, platform } = await start();
    await connect(hub, socket());
    const rule = { symbol: 'AAPL', condition: 'above', price: 200, repeat: 'once' };
    const alert = { ...ev('feed:ann', 'f1', 2), data: { title: 'AAPL above 200', body: '', level: 'high', alert: { alertId: 'a1', rule, price: 201, firedAt: 1e16 } } };
    await freshStart(hub, socket(), [ev('feed:ann', 'f1', 1), alert, ev('feed:ann', 'f1', 3)]);
    const page = await hub.openSession().feed();
    expect(page.entries.map((entry) => (entry.kind === 'gap' ? `${entry.reason} ${entry.missed}` : entry.id))).toEqual(['feed:ann/f1/3', 'unreadable 1', 'feed:ann/f1/1']);
    expect(platform.log.warnings().map((entry) => entry.message)).toContain('stream events that are not notifications were stored as unreadable markers');
    expect(platform.notifier.shown).toEqual([]);
  });

  test('an event dated before 1970 is re-dated too', async () => {
    const { hub, socket } = await start();
    await connect(hub, socket());
    await freshStart(hub, socket(), [{ ...ev('feed:ann', 'f1', 1), at: -5 }]);
    const page = await hub.openSession().feed();
    expect(page.entries.map((entry) => [entry.id, entry.at])).toEqual([['feed:ann/f1/1', Date.now()]]);
  });
});
