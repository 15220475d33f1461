import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import type { HubListener, HubStatus, TopicUpdate } from '../../lib/rpc/hub-api';
import { openHub, type Hub } from '../../worker/core/hub';
import { createFakePlatform, TEST_SETTINGS, useHubFakeTimers, waitUntil, type FakePlatform, type FakeSocket } from '../support/fake-socket';

beforeEach(() => {
  useHubFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function recordingListener() {
  const statuses: HubStatus[] = [];
  const updates: TopicUpdate[][] = [];
  const listener: HubListener = {
    status: (status) => {
      statuses.push(status);
    },
    updates: (batch) => {
      updates.push([...batch]);
    },
  };
  return { listener, statuses, updates, flat: () => updates.flat() };
}

const tick = (symbol: string, price: number) => ({ symbol, price, prev: price, at: 1 });

/** `subscribe` frames for view topics, without the hub's own (`feed:<user>`, `news`, `alerts:<user>`). */
const viewSubscribes = (socket: FakeSocket) =>
  socket.sentOf('subscribe').filter((frame) => !/^(feed:|alerts:|news$)/.test(frame.topic));

let hub: Hub | undefined;
afterEach(() => {
  hub?.close();
  hub = undefined;
});

async function start(platform: FakePlatform = createFakePlatform()) {
  hub = await openHub(platform, { backoffBaseMs: 1000 });
  return { platform, hub, socket: () => platform.sockets.last() };
}

describe('openHub', () => {
  test('loads the stored settings and connects to their WebSocket URL', async () => {
    const { socket } = await start(createFakePlatform({ settings: { serverUrl: 'http://10.0.0.5:9000', token: 'tok' } }));
    expect(socket().url).toBe('ws://10.0.0.5:9000/ws');
    socket().open();
    expect(socket().sentOf('hello')[0]).toMatchObject({ token: 'tok' });
  });

  test('unreadable stored settings fall back to the defaults, which have no token: the hub stays idle', async () => {
    const platform = createFakePlatform();
    platform.settings.load = async () => {
      throw new Error('storage broken');
    };
    const { hub } = await start(platform);
    expect(hub.status()).toEqual({ s: 'idle', reason: 'no access token: set one in Options' });
    expect(platform.sockets.all).toEqual([]);
    expect(platform.log.warnings()[0]?.message).toMatch(/could not be loaded/);
  });

  test('status() follows the connection, without internal bookkeeping', async () => {
    const { hub, socket } = await start();
    expect(hub.status()).toEqual({ s: 'connecting', attempt: 0 });
    socket().accept({ session: 's1', user: 'dev' });
    expect(hub.status()).toEqual({ s: 'open', session: 's1', user: 'dev', since: Date.now() });
  });

  test('close() closes the socket, cancels every timer and ends every session', async () => {
    const { hub, socket } = await start();
    const session = hub.openSession();
    await session.subscribe(['prices:AAPL']);
    socket().accept();
    hub.close();
    expect(socket().closedByClient).toMatchObject({ reason: 'hub closed' });
    expect(vi.getTimerCount()).toBe(0);
    expect(hub.status()).toEqual({ s: 'closed', reason: 'hub closed' });
    expect(() => hub.openSession()).toThrow(/closed/);
  });
});

describe('sessions', () => {
  test('two sessions on one topic: one subscribe frame, a price reaches both', async () => {
    const { hub, socket } = await start();
    const a = hub.openSession();
    const b = hub.openSession();
    const la = recordingListener();
    const lb = recordingListener();
    await a.listen(la.listener);
    await b.listen(lb.listener);
    await a.subscribe(['prices:AAPL']);
    await b.subscribe(['prices:AAPL']);
    socket().accept();
    expect(viewSubscribes(socket())).toEqual([{ t: 'subscribe', topic: 'prices:AAPL' }]);

    socket().receive({ t: 'state', topic: 'prices:AAPL', value: tick('AAPL', 190), at: 7 });
    await waitUntil('the price in both views', () => la.flat().length > 0 && lb.flat().length > 0);
    const expected = [{ kind: 'state', topic: 'prices:AAPL', value: tick('AAPL', 190), at: 7 }];
    expect(la.flat()).toEqual(expected);
    expect(lb.flat()).toEqual(expected);
  });

  test('after a reconnect every topic is subscribed again and values flow', async () => {
    const { hub, socket, platform } = await start();
    const a = hub.openSession();
    const la = recordingListener();
    await a.listen(la.listener);
    await a.subscribe(['prices:AAPL', 'prices:*']);
    socket().accept();
    socket().serverClose(CloseCode.serviceRestart);
    vi.runOnlyPendingTimers();
    expect(platform.sockets.all).toHaveLength(2);
    socket().accept();
    expect(viewSubscribes(socket()).map((frame) => frame.topic)).toEqual(['prices:AAPL', 'prices:*']);
    socket().receive({ t: 'state', topic: 'prices:MSFT', value: tick('MSFT', 400), at: 1 });
    await waitUntil('the price in the view', () => la.flat().length > 0);
    expect(la.flat().map((update) => update.kind === 'state' && update.topic)).toEqual(['prices:MSFT']);
  });

  test('closing a session releases its topics; the last holder sends unsubscribe', async () => {
    const { hub, socket } = await start();
    socket().accept();
    const a = hub.openSession();
    const b = hub.openSession();
    await a.subscribe(['prices:AAPL', 'prices:MSFT']);
    await b.subscribe(['prices:AAPL']);
    a.close();
    expect(socket().sentOf('unsubscribe')).toEqual([{ t: 'unsubscribe', topic: 'prices:MSFT' }]);
    await b.unsubscribe(['prices:AAPL']);
    expect(socket().sentOf('unsubscribe').map((frame) => frame.topic)).toEqual(['prices:MSFT', 'prices:AAPL']);
  });

  test('subscribe throws a TypeError naming a bad topic and subscribes none of the batch', async () => {
    const { hub, socket } = await start();
    socket().accept();
    const a = hub.openSession();
    await expect(a.subscribe(['prices:AAPL', 'weather:paris'])).rejects.toThrow(new TypeError('Not a topic: "weather:paris"'));
    await expect(a.subscribe('prices:AAPL' as unknown as string[])).rejects.toBeInstanceOf(TypeError);
    await expect(a.unsubscribe([42 as unknown as string])).rejects.toThrow('Not a topic: 42');
    expect(viewSubscribes(socket())).toEqual([]);
  });

  test('a late listener gets the cached values of its topics', async () => {
    const { hub, socket } = await start();
    socket().accept();
    const a = hub.openSession();
    await a.subscribe(['prices:AAPL']);
    socket().receive({ t: 'state', topic: 'prices:AAPL', value: tick('AAPL', 5), at: 1 });
    const la = recordingListener();
    await a.listen(la.listener);
    await waitUntil('the cached price in the view', () => la.flat().length > 0);
    expect(la.flat()).toEqual([{ kind: 'state', topic: 'prices:AAPL', value: tick('AAPL', 5), at: 1 }]);
  });

  test('a slow listener gets the latest price, not a backlog', async () => {
    const { hub, socket } = await start();
    socket().accept();
    const a = hub.openSession();
    const got: TopicUpdate[][] = [];
    let release: () => void = () => {};
    await a.listen({
      status: () => {},
      updates: (batch) => {
        got.push([...batch]);
        return new Promise<void>((resolve) => (release = resolve));
      },
    });
    await a.subscribe(['prices:AAPL']);
    socket().receive({ t: 'state', topic: 'prices:AAPL', value: tick('AAPL', 1), at: 1 });
    // The view is busy with the first price while the other 49 arrive.
    await waitUntil('the first price in the view', () => got.length === 1);
    for (let price = 2; price <= 50; price++) {
      socket().receive({ t: 'state', topic: 'prices:AAPL', value: tick('AAPL', price), at: price });
    }
    release();
    await waitUntil('a second delivery', () => got.length === 2);
    expect(got.map((batch) => batch.map((update) => update.kind === 'state' && (update.value as { price: number }).price))).toEqual([[1], [50]]);
  });

  test('status changes are pushed, latest only while the view is busy', async () => {
    const { hub, socket } = await start();
    const a = hub.openSession();
    const seen: HubStatus[] = [];
    let release: () => void = () => {};
    expect(
      await a.listen({
        status: (status) => {
          seen.push(status);
          return new Promise<void>((resolve) => (release = resolve));
        },
        updates: () => {},
      }),
    ).toEqual({ s: 'connecting', attempt: 0 });
    socket().accept();
    await waitUntil('the open status in the view', () => seen.length === 1);
    // The view is busy with it while the connection drops, waits, connects and opens again.
    socket().serverClose(CloseCode.abnormal);
    vi.runOnlyPendingTimers();
    socket().accept({ session: 'second' });
    release();
    await waitUntil('a second status in the view', () => seen.length === 2);
    expect(seen.map((status) => status.s)).toEqual(['open', 'open']);
    expect(seen[1]).toMatchObject({ session: 'second' });
  });

  test('a view whose calls reject does not stop the hub or the other views', async () => {
    const { hub, socket, platform } = await start();
    socket().accept();
    const dead = hub.openSession();
    await dead.listen({
      status: () => Promise.reject(new Error('port disconnected')),
      updates: () => Promise.reject(new Error('port disconnected')),
    });
    const alive = hub.openSession();
    const la = recordingListener();
    await alive.listen(la.listener);
    await dead.subscribe(['prices:AAPL']);
    await alive.subscribe(['prices:AAPL']);
    for (let price = 1; price <= 3; price++) {
      socket().receive({ t: 'state', topic: 'prices:AAPL', value: tick('AAPL', price), at: price });
      await waitUntil(`price ${price} in the live view`, () => la.flat().length === price);
    }
    expect(la.flat()).toHaveLength(3);
    await waitUntil('the dead view logged', () => platform.log.entries.some((entry) => entry.message === 'a view did not take updates'));
    expect(platform.log.entries.some((entry) => entry.message === 'a view did not take updates')).toBe(true);
  });

  test('a topic error reaches the view and the status stays open', async () => {
    const { hub, socket } = await start();
    socket().accept();
    const a = hub.openSession();
    const la = recordingListener();
    await a.listen(la.listener);
    await a.subscribe(['prices:ZZZZ']);
    socket().receive({ t: 'error', code: 'unknown-topic', message: 'unknown topic prices:ZZZZ', topic: 'prices:ZZZZ' });
    await waitUntil('the error in the view', () => la.flat().length > 0);
    expect(la.flat()).toEqual([{ kind: 'error', topic: 'prices:ZZZZ', code: 'unknown-topic', message: 'unknown topic prices:ZZZZ' }]);
    expect(hub.status().s).toBe('open');
  });

  test('bad frames, invalid prices and stray acks are logged, never fatal', async () => {
    const { hub, socket, platform } = await start();
    socket().accept();
    const a = hub.openSession();
    const la = recordingListener();
    await a.listen(la.listener);
    await a.subscribe(['prices:AAPL']);
    socket()
      .receiveRaw(new Uint8Array([0x92, 0xc1]).buffer)
      .receive({ t: 'state', topic: 'prices:AAPL', value: tick('AAPL', -5), at: 1 })
      .receive({ t: 'ack', id: 'x', ok: true })
      .receive({ t: 'state', topic: 'prices:AAPL', value: tick('AAPL', 5), at: 2 });
    await waitUntil('the valid price in the view', () => la.flat().length > 0);
    expect(la.flat()).toHaveLength(1);
    expect(hub.status().s).toBe('open');
    expect(platform.log.warnings().map((entry) => entry.message)).toEqual([
      'ignored a bad frame from the server',
      'ignored an invalid state value',
      'ignored an ack for no queued message',
    ]);
  });

  test('a closed session ignores calls and gets nothing more', async () => {
    const { hub, socket } = await start();
    socket().accept();
    const a = hub.openSession();
    const la = recordingListener();
    await a.listen(la.listener);
    a.close();
    await a.subscribe(['prices:AAPL']);
    expect(viewSubscribes(socket())).toEqual([]);
    // A view that joined after it hears of each status change after it would have.
    const later = recordingListener();
    await hub.openSession().listen(later.listener);
    socket().serverClose(CloseCode.abnormal);
    await waitUntil('the status change in the later view', () => later.statuses.length > 0);
    expect(la.statuses).toEqual([]);
  });
});

describe('settings', () => {
  test('getSettings returns the current settings', async () => {
    const { hub } = await start();
    expect(await hub.openSession().getSettings()).toEqual({ ...TEST_SETTINGS, systemNotifications: true, quietHours: null });
  });

  test('saveSettings validates, stores and reconnects at once', async () => {
    const { hub, socket, platform } = await start();
    socket().accept();
    const a = hub.openSession();
    const result = await a.saveSettings({ serverUrl: ' http://127.0.0.1:9999 ', token: 'new-token' });
    expect(result).toEqual({ ok: true, value: { serverUrl: 'http://127.0.0.1:9999', token: 'new-token', systemNotifications: true, quietHours: null } });
    expect(platform.settings.saved).toEqual([{ serverUrl: 'http://127.0.0.1:9999', token: 'new-token', systemNotifications: true, quietHours: null }]);
    expect(platform.sockets.all).toHaveLength(2);
    expect(socket().url).toBe('ws://127.0.0.1:9999/ws');
    expect(hub.status()).toEqual({ s: 'connecting', attempt: 0 });
    expect(await a.getSettings()).toEqual({ serverUrl: 'http://127.0.0.1:9999', token: 'new-token', systemNotifications: true, quietHours: null });
  });

  test('invalid settings come back as an error and change nothing', async () => {
    const { hub, platform } = await start();
    const result = await hub.openSession().saveSettings({ serverUrl: 'not a url', token: 'x' });
    expect(result).toMatchObject({ ok: false, error: { name: 'InvalidSettings' } });
    expect(platform.settings.saved).toEqual([]);
    expect(platform.sockets.all).toHaveLength(1);
  });

  test('a storage failure comes back as an error', async () => {
    const { hub, platform } = await start();
    platform.settings.save = async () => {
      throw new Error('quota exceeded');
    };
    const result = await hub.openSession().saveSettings({ ...TEST_SETTINGS, token: 'other' });
    expect(result).toEqual({ ok: false, error: { name: 'StorageError', message: 'Settings could not be saved: quota exceeded' } });
    expect(platform.sockets.all).toHaveLength(1);
  });
});
