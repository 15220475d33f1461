import * as Comlink from 'comlink';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { connectHub, reconnectDelay, type HubClient } from '../../lib/rpc/connect-hub';
import { err, ok } from '../../lib/errors';
import { HUB_PORT_NAME, type HubApi, type HubListener, type HubStatus, type OverlayItem, type TopicUpdate } from '../../lib/rpc/hub-api';
import { createPipeAcceptor } from '../../worker/hosts/extension/pipe-acceptor';
import { createPortEndpoint } from '../../lib/rpc/runtime-port-endpoint';
import { DEFAULT_SETTINGS } from '../../lib/rpc/settings';
import { createFakeRuntime, type FakeRuntime, type Serialisation } from '../support/runtime-ports';

const OPEN: HubStatus = { s: 'open', session: 's1', user: 'dev', since: 1 };

interface FakeSession {
  listener: HubListener | null;
  readonly topics: Set<string>;
  readonly calls: string[];
}

/** One service-worker life: the sessions its views opened. */
interface WorkerLife {
  readonly sessions: FakeSession[];
  /** When set, `status()` waits for this before answering. */
  holdStatus: Promise<void> | null;
  /** When set, the alert calls and `dismissOverlay` record themselves and then wait for this. */
  holdWrites: Promise<void> | null;
}

const RULE = { symbol: 'AAPL', condition: 'above', price: 200, repeat: 'once' } as const;
const OVERLAY: OverlayItem = { id: 'feed:dev/e1/4', kind: 'alert', title: 'AAPL above 200', body: 'AAPL hit 200.5', level: 'high', at: 5, entryIds: ['feed:dev/e1/4'] };

function startFakeHub(lives: WorkerLife[]): (runtime: FakeRuntime) => void {
  return (runtime) => {
    const life: WorkerLife = { sessions: [], holdStatus: null, holdWrites: null };
    /** Records the call, then waits while writes are held. */
    const write = async (session: FakeSession, call: string): Promise<void> => {
      session.calls.push(call);
      if (life.holdWrites) await life.holdWrites;
    };
    lives.push(life);
    const acceptor = createPipeAcceptor();
    runtime.onConnect((port) => {
      if (acceptor.accept(port) || port.name !== HUB_PORT_NAME) return;
      const session: FakeSession = { listener: null, topics: new Set(), calls: [] };
      life.sessions.push(session);
      const api: HubApi = {
        async listen(listener) {
          session.calls.push('listen');
          session.listener = listener;
          return OPEN;
        },
        async subscribe(topics) {
          session.calls.push(`subscribe ${topics.join(',')}`);
          if (topics.includes('feed:mallory')) throw new Error('forbidden topic');
          for (const topic of topics) session.topics.add(topic);
        },
        async unsubscribe(topics) {
          session.calls.push(`unsubscribe ${topics.join(',')}`);
          for (const topic of topics) session.topics.delete(topic);
        },
        async pause() {
          session.calls.push('pause');
        },
        async resume() {
          session.calls.push('resume');
        },
        async status() {
          session.calls.push('status');
          if (life.holdStatus) await life.holdStatus;
          return OPEN;
        },
        feed: async () => {
          session.calls.push('feed');
          return { entries: [], unread: 0 };
        },
        markRead: async (ids) => void session.calls.push(`markRead ${ids.join(',')}`),
        markAllRead: async () => void session.calls.push('markAllRead'),
        alerts: async () => {
          session.calls.push('alerts');
          return [{ id: 'a1', rule: RULE, state: 'pending sync' }];
        },
        createAlert: async (rule) => {
          await write(session, `createAlert ${JSON.stringify(rule)}`);
          return ok({ id: 'a1' });
        },
        pauseAlert: async (id, paused) => {
          await write(session, `pauseAlert ${id} ${paused}`);
          return ok(null);
        },
        deleteAlert: async (id) => {
          await write(session, `deleteAlert ${id}`);
          return id === 'gone' ? err('InvalidInput', 'no such alert') : ok(null);
        },
        overlay: async (id) => {
          session.calls.push(`overlay ${id}`);
          return id === OVERLAY.id ? OVERLAY : null;
        },
        dismissOverlay: async (id, snoozeMinutes) => {
          await write(session, `dismissOverlay ${id} ${snoozeMinutes ?? '-'}`);
        },
        getSettings: async () => DEFAULT_SETTINGS,
        saveSettings: async (settings) => ok(settings),
      };
      Comlink.expose(api, createPortEndpoint(port, { pipes: acceptor.pipes }));
    });
  };
}

const update = (topic: string, value: unknown): TopicUpdate => ({ kind: 'state', topic, value, at: 1 });

function setUp(options: { retryDelayMs?: number; requestFrame?: (callback: () => void) => void; serialisation?: Serialisation } = {}) {
  const lives: WorkerLife[] = [];
  const runtime = createFakeRuntime(options.serialisation ?? 'json', startFakeHub(lives));
  const statuses: HubStatus[] = [];
  const updates: TopicUpdate[] = [];
  /** The size of each batch `onUpdates` got. */
  const batches: number[] = [];
  const ready = { count: 0 };
  const awaited = new Set<{ matches: (status: HubStatus) => boolean; resolve: () => void }>();
  /** Resolves from inside `onStatus` when the view is told a status that `matches`. */
  const told = (matches: (status: HubStatus) => boolean) => new Promise<void>((resolve) => awaited.add({ matches, resolve }));
  const hub = connectHub({
    connect: (name) => runtime.connect(name),
    onStatus: (status) => {
      statuses.push(status);
      for (const wait of [...awaited]) {
        if (!wait.matches(status)) continue;
        awaited.delete(wait);
        wait.resolve();
      }
    },
    onUpdates: (batch) => {
      updates.push(...batch);
      batches.push(batch.length);
    },
    onReady: () => (ready.count += 1),
    retryDelayMs: options.retryDelayMs ?? 10,
    ...(options.requestFrame ? { requestFrame: options.requestFrame } : {}),
  });
  connections.push(hub);
  const session = (life = lives.length - 1, index = 0): FakeSession | undefined => lives[life]?.sessions[index];
  return { lives, runtime, statuses, updates, batches, hub, session, ready, told };
}

const connections: HubClient[] = [];
afterEach(() => {
  for (const hub of connections.splice(0)) hub.close();
  vi.useRealTimers();
});

describe('connectHub', () => {
  test('registers a listener, reports status and delivers updates of subscribed topics', async () => {
    const { hub, statuses, updates, session } = setUp();
    await hub.subscribe(['prices:*']);
    expect(statuses).toEqual([OPEN]);
    expect(session()?.topics).toEqual(new Set(['prices:*']));
    await session()?.listener?.updates([update('prices:AAPL', 1)]);
    expect(updates).toEqual([update('prices:AAPL', 1)]);
  });

  test('after the service worker restarts it reconnects, listens and subscribes again', async () => {
    const { hub, runtime, statuses, updates, lives, session } = setUp();
    await hub.subscribe(['prices:*', 'news']);
    runtime.stopWorker();
    await vi.waitFor(() => expect(session(1)?.topics).toEqual(new Set(['prices:*', 'news'])));
    expect(lives).toHaveLength(2);
    expect(session(1)?.calls).toEqual(['listen', 'subscribe prices:*,news']);
    expect(statuses).toEqual([OPEN, { s: 'connecting', attempt: 1 }, OPEN]);
    await session(1)?.listener?.updates([update('news', 'again')]);
    expect(updates).toEqual([update('news', 'again')]);
  });

  test('onReady fires on the first connection and after every reconnect, so a view can reload its feed', async () => {
    const { hub, runtime, session, ready } = setUp();
    await hub.api.status();
    expect(ready.count).toBe(1);
    await expect(hub.api.feed(50)).resolves.toEqual({ entries: [], unread: 0 });
    await hub.api.markRead(['feed:dev/e1/1']);
    await hub.api.markAllRead();
    expect(session(0)?.calls).toEqual(['listen', 'status', 'feed', 'markRead feed:dev/e1/1', 'markAllRead']);
    runtime.stopWorker();
    await vi.waitFor(() => expect(ready.count).toBe(2));
    expect(session(1)?.calls).toEqual(['listen']);
  });

  test('onReady fires again when the hub opens for another user, not for the same user reconnecting', async () => {
    const { hub, session, ready, statuses } = setUp();
    await hub.api.status();
    expect(ready.count).toBe(1);
    const listener = session()?.listener;
    await listener?.status({ s: 'connecting', attempt: 1 });
    await listener?.status(OPEN);
    expect(ready.count).toBe(1);
    const bob = { ...OPEN, user: 'bob' };
    await listener?.status(bob);
    expect(statuses.at(-1)).toEqual(bob);
    expect(ready.count).toBe(2);
  });

  test('onUserChange fires once per change of user, before that status reaches onStatus', async () => {
    const lives: WorkerLife[] = [];
    const runtime = createFakeRuntime('json', startFakeHub(lives));
    const seen: string[] = [];
    const hub = connectHub({
      connect: (name) => runtime.connect(name),
      onStatus: (status) => seen.push(status.s === 'open' ? `status ${status.user}` : `status ${status.s}`),
      onUserChange: () => seen.push('user changed'),
      onReady: () => seen.push('ready'),
      retryDelayMs: 10,
    });
    connections.push(hub);
    await hub.api.status();
    const listener = lives[0]!.sessions[0]!.listener!;
    await listener.status({ s: 'waiting', attempt: 1, retryAt: 5, reason: 'closed' });
    await listener.status(OPEN);
    await listener.status({ s: 'idle', reason: 'no token' });
    await listener.status({ ...OPEN, user: 'bob' });
    await listener.status({ ...OPEN, user: 'bob' });
    expect(seen).toEqual([
      `status ${OPEN.user}`,
      'ready',
      'status waiting',
      `status ${OPEN.user}`,
      'status idle',
      'user changed',
      'status bob',
      'ready',
      'status bob',
    ]);
  });

  test('forgets unsubscribed topics and ones the hub refused', async () => {
    const { hub, runtime, session } = setUp();
    await hub.subscribe(['prices:AAPL', 'prices:MSFT']);
    await hub.unsubscribe(['prices:MSFT']);
    await expect(hub.subscribe(['feed:mallory'])).rejects.toThrow('forbidden topic');
    await expect(hub.subscribe(['not a topic'])).rejects.toThrow(TypeError);
    runtime.stopWorker();
    await vi.waitFor(() => expect(session(1)?.calls).toContain('subscribe prices:AAPL'));
  });

  test('a call cut off by a restart is answered by the next connection', async () => {
    const { hub, runtime, lives, session } = setUp();
    await hub.api.status();
    lives[0]!.holdStatus = new Promise(() => {});
    const call = hub.api.status();
    await vi.waitFor(() => expect(session(0)?.calls).toEqual(['listen', 'status', 'status']));
    runtime.stopWorker();
    await expect(call).resolves.toEqual(OPEN);
    expect(session(1)?.calls).toEqual(['listen', 'status']);
  });

  test('calls made while reconnecting wait for the hub', async () => {
    const { hub, runtime, told } = setUp({ retryDelayMs: 30 });
    await hub.api.status();
    const dropped = told((status) => status.s === 'connecting');
    runtime.stopWorker();
    // The client noticed the drop and now waits out its 30 ms backoff.
    await dropped;
    await expect(hub.api.getSettings()).resolves.toEqual(DEFAULT_SETTINGS);
  });

  test('close() stops reconnecting and rejects later calls', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const { hub, runtime, lives } = setUp({ retryDelayMs: 100 });
    const connected = hub.api.status();
    await vi.advanceTimersByTimeAsync(5);
    await connected;
    hub.close();
    runtime.stopWorker();
    // Far past every reconnect delay (at most 5 s): a reconnect would have started the worker again.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(lives).toHaveLength(1);
    await expect(hub.api.status()).rejects.toMatchObject({ name: 'HubDisconnectedError' });
  });

  test('waits the backoff before reconnecting: nothing at d-1 ms, a connect at d', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const { runtime } = setUp({ retryDelayMs: 100 });
    const hubPorts = () => runtime.viewPorts.filter((p) => p.name === HUB_PORT_NAME).length;
    await vi.advanceTimersByTimeAsync(5);
    runtime.stopWorker();
    await vi.advanceTimersByTimeAsync(1); // the disconnect reaches the view
    await vi.advanceTimersByTimeAsync(98);
    expect(hubPorts()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(hubPorts()).toBe(2);
  });
});

describe('connectHub: frames and visibility', () => {
  test('with requestFrame, batches that come before a frame reach onUpdates in one call, and the hub hears they were taken only after it', async () => {
    const frames: Array<() => void> = [];
    const { hub, session, updates, batches } = setUp({ requestFrame: (callback) => void frames.push(callback) });
    await hub.subscribe(['prices:*']);
    const listener = session()!.listener!;
    let taken = 0;
    const deliveries = [
      listener.updates([update('prices:AAPL', 1)]),
      listener.updates([update('prices:MSFT', 2), update('prices:AAPL', 3)]),
    ].map((delivery) => Promise.resolve(delivery).then(() => (taken += 1)));
    await vi.waitFor(() => expect(frames).toHaveLength(1));
    // The view has the batches but has not applied them, and the hub still waits.
    await hub.api.status();
    expect(updates).toEqual([]);
    expect(taken).toBe(0);
    frames.shift()!();
    await Promise.all(deliveries);
    expect(batches).toEqual([3]);
    expect(updates).toEqual([update('prices:AAPL', 1), update('prices:MSFT', 2), update('prices:AAPL', 3)]);
  });

  test('setVisible(false) pauses the session and true resumes it; a hidden view is paused again after a restart', async () => {
    const { hub, runtime, session } = setUp();
    await hub.api.status();
    await hub.subscribe(['prices:*']);
    await hub.setVisible(false);
    await hub.setVisible(false);
    expect(session(0)?.calls).toEqual(['listen', 'status', 'subscribe prices:*', 'pause']);
    runtime.stopWorker();
    await vi.waitFor(() => expect(session(1)?.calls).toEqual(['listen', 'subscribe prices:*', 'pause']));
    await hub.setVisible(true);
    expect(session(1)?.calls.at(-1)).toBe('resume');
    runtime.stopWorker();
    await hub.api.status();
    expect(session(2)?.calls).toEqual(['listen', 'subscribe prices:*', 'status']);
  });
});

describe('connectHub: alerts and overlays', () => {
  test('passes the alert and overlay calls through, results and refusals as data', async () => {
    const { hub, session } = setUp();
    await expect(hub.api.alerts()).resolves.toEqual([{ id: 'a1', rule: RULE, state: 'pending sync' }]);
    await expect(hub.api.createAlert(RULE)).resolves.toEqual(ok({ id: 'a1' }));
    await expect(hub.api.pauseAlert('a1', true)).resolves.toEqual(ok(null));
    await expect(hub.api.deleteAlert('gone')).resolves.toEqual(err('InvalidInput', 'no such alert'));
    await expect(hub.api.overlay(OVERLAY.id)).resolves.toEqual(OVERLAY);
    await expect(hub.api.overlay('feed:dev/e1/9')).resolves.toBeNull();
    await hub.api.dismissOverlay(OVERLAY.id, 10);
    await hub.api.dismissOverlay(OVERLAY.id);
    expect(session()?.calls).toEqual([
      'listen',
      'alerts',
      `createAlert ${JSON.stringify(RULE)}`,
      'pauseAlert a1 true',
      'deleteAlert gone',
      `overlay ${OVERLAY.id}`,
      'overlay feed:dev/e1/9',
      `dismissOverlay ${OVERLAY.id} 10`,
      `dismissOverlay ${OVERLAY.id} -`,
    ]);
  });

  test.each([
    ['createAlert', (hub: HubClient) => hub.api.createAlert(RULE)],
    ['deleteAlert', (hub: HubClient) => hub.api.deleteAlert('a1')],
  ])('%s cut off by a restart rejects instead of queueing twice', async (name, run) => {
    const { hub, runtime, lives, session } = setUp();
    await hub.api.status();
    lives[0]!.holdWrites = new Promise(() => {});
    const call = run(hub);
    await vi.waitFor(() => expect(session(0)?.calls.some((c) => c.startsWith(name))).toBe(true));
    runtime.stopWorker();
    await expect(call).rejects.toMatchObject({ name: 'HubDisconnectedError' });
    await vi.waitFor(() => expect(session(1)?.calls).toEqual(['listen']));
    // A call made now reaches the new session after anything the client would have sent again
    // (a retry goes out as soon as the link is ready, and one port keeps its order).
    await hub.api.status();
    expect(session(1)?.calls).toEqual(['listen', 'status']);
  });

  test.each([
    ['pauseAlert', (hub: HubClient) => hub.api.pauseAlert('a1', false), 'pauseAlert a1 false'],
    ['dismissOverlay', (hub: HubClient) => hub.api.dismissOverlay('o1', 10), 'dismissOverlay o1 10'],
  ])('%s cut off by a restart is done again on the next connection (harmless twice)', async (_name, run, call) => {
    const { hub, runtime, lives, session } = setUp();
    await hub.api.status();
    lives[0]!.holdWrites = new Promise(() => {});
    const pending = run(hub);
    await vi.waitFor(() => expect(session(0)?.calls).toContain(call));
    runtime.stopWorker();
    await pending;
    expect(session(1)?.calls).toEqual(['listen', call]);
  });
});

describe('reconnectDelay', () => {
  test.each([
    [1, 100],
    [2, 200],
    [3, 400],
    [7, 5000],
    [30, 5000],
  ])('attempt %i waits %i ms', (attempt, delay) => {
    expect(reconnectDelay(attempt, 100, 5000)).toBe(delay);
  });
});
