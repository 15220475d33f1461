/**
 * How the hub takes the server's refusals. A refused origin (4003) or token (4010, 4011) stops the
 * connection, with the close code in the status so views can name the cause and the fix, and no
 * timer is left that would reconnect; saving settings again tries once more. A busy server (1013)
 * is retried, but never sooner than the busy backoff's minimum: nothing at d−1, the reconnect at d.
 * A lasting refusal is remembered, so a restarted background does not ask again with the same
 * settings. Fake sockets and timers, fake-indexeddb.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import { createRefusals, RECALL_TIMEOUT_MS, settingsFingerprint } from '../../worker/core/connection/refusal';
import { toHubStatus } from '../../worker/core/connection/state';
import { systemClock } from '../../worker/core/platform';
import { createFakePlatform, createRecordingLogger, startConnection, TEST_SETTINGS, useHubFakeTimers, waitUntil } from '../support/fake-socket';
import { openTestHub, useHubHarness } from '../support/hub-harness';

describe('the connection', () => {
  beforeEach(() => {
    useHubFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test.each([
    ['origin not allowed', CloseCode.originForbidden, 'origin not allowed', 'origin not allowed'],
    ['a refused token', CloseCode.unauthorized, '', 'access token refused'],
    ['an expired token', CloseCode.tokenExpired, 'access token expired', 'access token expired'],
  ])('%s (%i) at the handshake stops for good: closed with its code, no timer, no second socket', (_name, code, closeText, reason) => {
    const h = startConnection();
    h.sockets.last().open().serverClose(code, closeText);
    expect(h.connection.state).toEqual({ s: 'closed', reason, code });
    expect(toHubStatus(h.connection.state)).toEqual({ s: 'closed', reason, code });
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(24 * 3600 * 1000);
    expect(h.sockets.all).toHaveLength(1);
    expect(h.states()).toEqual(['connecting', 'closed']);
  });

  test('4003 after a browser opened the socket (no frame at all) is a stop too; saving settings again tries once', () => {
    const h = startConnection();
    h.sockets.last().open().serverClose(CloseCode.originForbidden, 'origin not allowed');
    h.connection.configure({ ...TEST_SETTINGS });
    expect(h.sockets.all).toHaveLength(2);
    h.sockets.last().open().serverClose(CloseCode.originForbidden, 'origin not allowed');
    vi.advanceTimersByTime(24 * 3600 * 1000);
    expect(h.sockets.all).toHaveLength(2);
    expect(h.connection.state).toMatchObject({ s: 'closed', code: CloseCode.originForbidden });
  });

  test('a close the hub did not get from the server carries no code', () => {
    const h = startConnection();
    h.connection.close();
    expect(h.connection.state).toEqual({ s: 'closed', reason: 'hub closed' });
  });

  const busy = { minMs: 5_000, baseMs: 15_000, capMs: 120_000 };

  test('1013 at the handshake: nothing before the busy minimum even with zero jitter, the reconnect at it', () => {
    const h = startConnection({ random: () => 0, connection: { busyBackoff: busy } });
    h.sockets.last().open().serverClose(CloseCode.tryAgainLater);
    expect(h.connection.state).toMatchObject({ s: 'waiting', attempt: 1, reason: 'server busy' });
    vi.advanceTimersByTime(4_999);
    expect(h.sockets.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(h.sockets.all).toHaveLength(2);
  });

  test('1013 on an open connection (too slow for its stream) waits the busy backoff too', () => {
    const h = startConnection({ random: () => 0.5, connection: { busyBackoff: busy } });
    h.sockets.last().accept().serverClose(CloseCode.tryAgainLater, 'too slow');
    // Uniform in [min, base): 5 s + 0.5 · 10 s.
    vi.advanceTimersByTime(9_999);
    expect(h.sockets.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(h.sockets.all).toHaveLength(2);
  });

  test('repeated 1013s widen the window up to the cap and never go below the minimum', () => {
    const h = startConnection({ random: () => 1 - Number.EPSILON, connection: { busyBackoff: busy } });
    const ceilings: number[] = [];
    for (let i = 0; i < 6; i++) {
      h.sockets.last().open().serverClose(CloseCode.tryAgainLater);
      const state = h.connection.state;
      if (state.s !== 'waiting') throw new Error(`expected waiting, got ${state.s}`);
      ceilings.push(state.retryAt - Date.now() + 1);
      vi.advanceTimersByTime(state.retryAt - Date.now());
    }
    expect(ceilings).toEqual([15_000, 30_000, 60_000, 120_000, 120_000, 120_000]);
  });

  test.each([
    ['4013 (too many connections for the user)', CloseCode.tooManyConnections],
    ['4029 (rate limited), even after a welcome', CloseCode.rateLimited],
  ])('%s waits the busy backoff too: nothing before the minimum, the reconnect at it', (_, code) => {
    const h = startConnection({ random: () => 0, connection: { busyBackoff: busy } });
    h.sockets.last().accept().serverClose(code);
    vi.advanceTimersByTime(4_999);
    expect(h.sockets.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(h.sockets.all).toHaveLength(2);
  });

  test('a lost connection (1006) still retries on the ordinary backoff', () => {
    const h = startConnection({ random: () => 0, connection: { busyBackoff: busy } });
    h.sockets.last().open().serverClose(CloseCode.abnormal);
    vi.advanceTimersByTime(0);
    expect(h.sockets.all).toHaveLength(2);
  });
});

describe('the hub', () => {
  useHubHarness();

  test("1013 with the hub's defaults: nothing for 5 s, then one reconnect; the status says the server is busy", async () => {
    const platform = createFakePlatform({ random: () => 0 });
    const hub = await openTestHub(platform);
    platform.sockets.last().open().serverClose(CloseCode.tryAgainLater);
    expect(hub.status()).toMatchObject({ s: 'waiting', attempt: 1, reason: 'server busy', retryAt: Date.now() + 5_000 });
    vi.advanceTimersByTime(4_999);
    expect(platform.sockets.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(platform.sockets.all).toHaveLength(2);
  });

  test('4003 reaches every view as a closed status with the code', async () => {
    const platform = createFakePlatform();
    const hub = await openTestHub(platform);
    const session = hub.openSession();
    const statuses: unknown[] = [];
    await session.listen({ status: (status) => void statuses.push(status), updates: () => {} });
    platform.sockets.last().open().serverClose(CloseCode.originForbidden, 'origin not allowed');
    await waitUntil('the closed status in the view', () => (statuses.at(-1) as { s?: string } | undefined)?.s === 'closed');
    expect(statuses.at(-1)).toEqual({ s: 'closed', reason: 'origin not allowed', code: CloseCode.originForbidden });
    expect(await session.status()).toEqual({ s: 'closed', reason: 'origin not allowed', code: CloseCode.originForbidden });
  });
});

describe('a refusal remembered across restarts', () => {
  useHubHarness();

  /** A hub refused with `code`, closed again once the refusal is stored: its database is what a restart finds. */
  async function refusedBefore(code: number, reason: string) {
    const platform = createFakePlatform();
    const hub = await openTestHub(platform);
    platform.sockets.last().open().serverClose(code, reason);
    await hub.idle();
    hub.close();
    return platform.indexedDB;
  }

  test.each([
    ['origin not allowed', CloseCode.originForbidden],
    ['access token refused', CloseCode.unauthorized],
    ['access token expired', CloseCode.tokenExpired],
  ])('a start with the settings refused (%s) stays closed and opens no socket; a save asks once', async (reason, code) => {
    const indexedDB = await refusedBefore(code, reason);
    const platform = createFakePlatform({ indexedDB });
    const hub = await openTestHub(platform);
    expect(hub.status()).toEqual({ s: 'closed', reason, code });
    vi.advanceTimersByTime(24 * 3600 * 1000);
    expect(platform.sockets.all).toHaveLength(0);

    hub.configure({ ...TEST_SETTINGS });
    expect(platform.sockets.all).toHaveLength(1);
  });

  test('a start with other settings connects', async () => {
    const indexedDB = await refusedBefore(CloseCode.originForbidden, 'origin not allowed');
    const platform = createFakePlatform({ indexedDB, settings: { ...TEST_SETTINGS, token: 'another-token' } });
    await openTestHub(platform);
    expect(platform.sockets.all).toHaveLength(1);
  });

  test('an open forgets the refusal: the next start connects', async () => {
    const indexedDB = await refusedBefore(CloseCode.originForbidden, 'origin not allowed');
    const second = createFakePlatform({ indexedDB });
    const hub = await openTestHub(second);
    hub.configure({ ...TEST_SETTINGS });
    second.sockets.last().accept();
    await hub.idle();
    hub.close();

    const third = createFakePlatform({ indexedDB });
    await openTestHub(third);
    expect(third.sockets.all).toHaveLength(1);
  });

  test('a lost connection or a busy server is not remembered', async () => {
    const platform = createFakePlatform();
    const hub = await openTestHub(platform);
    platform.sockets.last().open().serverClose(CloseCode.tryAgainLater);
    await hub.idle();
    hub.close();
    const next = createFakePlatform({ indexedDB: platform.indexedDB });
    await openTestHub(next);
    expect(next.sockets.all).toHaveLength(1);
  });

  test('a refusal that cannot be read within a second does not keep the hub from connecting', async () => {
    const refusals = createRefusals({
      store: { get: () => new Promise(() => {}), put: async () => {}, clear: async () => {} },
      clock: systemClock,
      log: createRecordingLogger(),
    });
    let answer: unknown = 'pending';
    void refusals.recall(TEST_SETTINGS).then((value) => (answer = value));
    await vi.advanceTimersByTimeAsync(RECALL_TIMEOUT_MS - 1);
    expect(answer).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(answer).toBeNull();
  });

  test('the fingerprint tells settings apart without holding the token', async () => {
    const a = await settingsFingerprint(TEST_SETTINGS);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).not.toContain(TEST_SETTINGS.token);
    expect(await settingsFingerprint({ ...TEST_SETTINGS })).toBe(a);
    expect(await settingsFingerprint({ ...TEST_SETTINGS, token: 'other' })).not.toBe(a);
    expect(await settingsFingerprint({ ...TEST_SETTINGS, serverUrl: 'http://other.example' })).not.toBe(a);
  });
});
