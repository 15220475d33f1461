/**
 * The dashboard's hub link in Node: `connectSharedHub` in a "tab" and `createMessagePortServer` in a
 * "worker", joined by a real `MessageChannel` and sharing a fake Web Locks manager (one origin).
 * The hub is a fake whose sessions record what they were asked and whether they were closed.
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { connectSharedHub } from '../../lib/rpc/connect-shared-hub';
import { ok } from '../../lib/errors';
import type { HubClient } from '../../lib/rpc/hub-client';
import type { HubListener, HubStatus, TopicUpdate } from '../../lib/rpc/hub-api';
import { tabLockName } from '../../lib/rpc/hub-worker-messages';
import { DEFAULT_SETTINGS, type Settings } from '../../lib/rpc/settings';
import type { Hub, HubSession } from '../../worker/core/hub';
import { createMessagePortServer, createTabNotifier, type MessagePortServer } from '../../worker/hosts/shared-worker/message-port-server';
import { dashboardSurface } from '../../worker/hosts/shared-worker/host';
import { createTabSessions } from '../../worker/hosts/shared-worker/tab-sessions';
import { createFakeLocks, type FakeLocks } from '../support/fake-locks';
import { createRecordingLogger } from '../support/fake-socket';

/** Re-runs `check` until it passes: messages cross a real `MessageChannel`. */
const waitFor = (check: () => void) => vi.waitFor(check, { timeout: 2_000, interval: 5 });

const TAB = '6f1c2f4e-9d1b-4c55-8a77-0c6a3c1f2b10';
const OPEN: HubStatus = { s: 'open', session: 's1', user: 'ann', since: 1 };

interface FakeSession extends HubSession {
  readonly subscribed: string[];
  closed: boolean;
  listener: HubListener | null;
}

function fakeSession(options: { hangFeed?: boolean; saved?: Settings[] } = {}): FakeSession {
  const session: FakeSession = {
    subscribed: [],
    closed: false,
    listener: null,
    async listen(listener) {
      session.listener = listener;
      return OPEN;
    },
    async subscribe(topics) {
      session.subscribed.push(...topics);
    },
    async unsubscribe() {},
    pause: async () => {},
    resume: async () => {},
    status: async () => OPEN,
    feed: () => (options.hangFeed ? new Promise(() => {}) : Promise.resolve({ entries: [], unread: 0 })),
    markRead: async () => {},
    markAllRead: async () => {},
    alerts: async () => [],
    createAlert: async () => ok({ id: 'a1' }),
    pauseAlert: async () => ok(null),
    deleteAlert: async () => ok(null),
    overlay: async () => null,
    dismissOverlay: async () => {},
    getSettings: async () => DEFAULT_SETTINGS,
    async saveSettings(settings) {
      options.saved?.push(settings as Settings);
      return ok(settings as Settings);
    },
    close() {
      session.closed = true;
    },
  };
  return session;
}

interface Setup {
  readonly locks: FakeLocks;
  readonly server: MessagePortServer;
  readonly sessions: FakeSession[];
  connect(extra?: Partial<Parameters<typeof connectSharedHub>[0]>): HubClient;
}

const connections: HubClient[] = [];
afterEach(() => {
  for (const connection of connections.splice(0)) connection.close();
});

function setup(makeSession: () => FakeSession = () => fakeSession()): Setup {
  const locks = createFakeLocks();
  const log = createRecordingLogger();
  const sessions: FakeSession[] = [];
  const hub = {
    openSession() {
      const session = makeSession();
      sessions.push(session);
      return session;
    },
  } as unknown as Hub;
  const server = createMessagePortServer({ hub: async () => hub, tabs: createTabSessions({ locks, log }), log });
  return {
    locks,
    server,
    sessions,
    connect(extra = {}) {
      const connection = connectSharedHub({
        openPort: () => {
          const channel = new MessageChannel();
          server.serve(channel.port2);
          return channel.port1;
        },
        locks,
        tabId: TAB,
        retryDelayMs: 10,
        ...extra,
      });
      connections.push(connection);
      return connection;
    },
  };
}

describe('connectSharedHub ↔ hub port server', () => {
  test('a view reaches its own session, with its listener proxied across the port', async () => {
    const { connect, sessions } = setup();
    const statuses: HubStatus[] = [];
    const batches: (readonly TopicUpdate[])[] = [];
    const connection = connect({ onStatus: (s) => statuses.push(s), onUpdates: (b) => batches.push(b) });
    await connection.subscribe(['prices:*']);
    expect(sessions).toHaveLength(1);
    // Subscribing before the link is ready sends the topic again with the remembered ones; the hub's
    // registry takes a repeat as a no-op.
    expect(new Set(sessions[0]!.subscribed)).toEqual(new Set(['prices:*']));
    expect(statuses).toEqual([OPEN]);

    await sessions[0]!.listener!.updates([{ kind: 'state', topic: 'prices:AAPL', value: 1, at: 2 }]);
    expect(batches).toEqual([[{ kind: 'state', topic: 'prices:AAPL', value: 1, at: 2 }]]);
  });

  test('the tab holds its lock while connected, and its session closes once the tab is gone', async () => {
    const { connect, sessions, locks, server } = setup();
    await connect().api.status();
    await waitFor(() => expect(locks.waiting(tabLockName(TAB)), 'the worker watches the tab').toBe(1));
    expect(locks.held()).toEqual([tabLockName(TAB)]);
    expect(sessions[0]!.closed).toBe(false);

    locks.drop(tabLockName(TAB)); // The browser closed the tab.
    await waitFor(() => expect(sessions[0]!.closed, 'the session closes').toBe(true));
    expect(server.ports()).toBe(0);
  });

  test('close() says bye: the session ends at once and the tab lets its lock go', async () => {
    const { connect, sessions, locks, server } = setup();
    const connection = connect();
    await connection.api.status();
    connection.close();
    await waitFor(() => expect(sessions[0]!.closed, 'the session closes').toBe(true));
    expect(server.ports()).toBe(0);
    await waitFor(() => expect(locks.held(), 'the lock is free').toEqual([]));
  });

  test('a call with no answer times out; the client opens a new session and the stale one is closed', async () => {
    const { connect, sessions } = setup(() => fakeSession({ hangFeed: true }));
    const connection = connect({ callTimeoutMs: 100 });
    await expect(connection.api.feed()).rejects.toMatchObject({ name: 'HubDisconnectedError' });
    // The first session was dropped (bye), the retry used a second one, which timed out too.
    await waitFor(() => expect(sessions.length, 'a session after the retry').toBeGreaterThanOrEqual(2));
    await waitFor(() => expect([sessions[0]!.closed, sessions[1]!.closed], 'the stale sessions close').toEqual([true, true]));
    await expect(connection.api.status()).resolves.toEqual(OPEN);
  });

  test('the hub failing to open ends the port instead of leaving the view hanging', async () => {
    const log = createRecordingLogger();
    const server = createMessagePortServer({
      hub: () => Promise.reject(new Error('IndexedDB is broken')),
      tabs: createTabSessions({ locks: undefined, log }),
      log,
    });
    const channel = new MessageChannel();
    server.serve(channel.port2);
    await waitFor(() => expect(server.ports(), 'the port is dropped').toBe(0));
    expect(log.entries.map((entry) => entry.message)).toContain('could not open the hub for a view');
    channel.port1.close();
  });
});

describe('alert banners', () => {
  const item = { id: 'alert:e1', kind: 'alert', title: 'AAPL above 110', body: '', level: 'high', at: 1, entryIds: ['e1'] } as const;

  test('an alert goes to the tab that last got focus and still has it, and nowhere else', async () => {
    const { connect, server } = setup();
    const shown: Record<string, string[]> = { a: [], b: [] };
    const hidden: Record<string, string[]> = { a: [], b: [] };
    const focus: Record<string, (focused: boolean) => void> = {};
    const open = (name: 'a' | 'b', tabId: string) =>
      connect({
        tabId,
        onOverlay: (id) => shown[name]!.push(id),
        onOverlayHide: (id) => hidden[name]!.push(id),
        watchFocus: (report) => {
          focus[name] = report;
          return () => {};
        },
      });
    await open('a', TAB).api.status();
    await open('b', '0b7e8a3d-1c2f-4d5e-9f60-7a8b9c0d1e2f').api.status();
    const notifier = createTabNotifier(server);

    notifier.show(item, { systemNotifications: true });
    // A hide goes to every tab, after anything the show sent on the same port.
    notifier.hide('alert:probe');
    await waitFor(() => expect(hidden, 'both tabs hear of the hide').toEqual({ a: ['alert:probe'], b: ['alert:probe'] }));
    expect(shown).toEqual({ a: [], b: [] }); // No tab in focus: the feed has it.

    focus.a!(true);
    focus.b!(true);
    focus.a!(false);
    await waitFor(() => expect(server.focused(), 'the focus reports arrive').not.toBeNull());
    notifier.show(item, { systemNotifications: true });
    await waitFor(() => expect(shown.b, 'the banner is asked for').toHaveLength(1));
    expect(shown).toEqual({ a: [], b: ['alert:e1'] });
  });

  test('hide reaches every tab', async () => {
    const { connect, server } = setup();
    const hidden: string[] = [];
    await connect({ onOverlayHide: (id) => hidden.push(`a:${id}`) }).api.status();
    await connect({ tabId: '0b7e8a3d-1c2f-4d5e-9f60-7a8b9c0d1e2f', onOverlayHide: (id) => hidden.push(`b:${id}`) }).api.status();
    createTabNotifier(server).hide('alert:e1');
    await waitFor(() => expect(hidden, 'both hear of it').toHaveLength(2));
    expect(hidden.sort()).toEqual(['a:alert:e1', 'b:alert:e1']);
  });
});

describe('dashboardSurface', () => {
  test('saved settings always point at the dashboard origin, whatever the view sends', async () => {
    const saved: Settings[] = [];
    const surface = dashboardSurface(fakeSession({ saved }), 'http://127.0.0.1:8787');
    await surface.saveSettings({ serverUrl: 'http://evil.example', token: 't' });
    expect(saved).toEqual([{ serverUrl: 'http://127.0.0.1:8787', token: 't' }]);
  });
});
