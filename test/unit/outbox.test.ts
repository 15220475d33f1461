/**
 * The outbox inside the hub: client messages written to a fresh fake-indexeddb before anything is
 * sent, sent in order one at a time over a scripted fake socket, removed only on their ack, retried
 * with backoff, failed on `invalid`, expired by age, and resumed after a restart. Fake timers leave
 * `setImmediate` (and so IndexedDB) real.
 */
import { encode } from '@msgpack/msgpack';
import { IDBObjectStore } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { CloseCode } from '../../lib/close-codes';
import type { AlertRule } from '../../lib/alerts';
import type { FrameOf, ClientFrame } from '../../lib/protocol';
import { openHub, type Hub, type HubOptions } from '../../worker/hub';
import { EXPIRED_REASON } from '../../worker/outbox';
import { createFakePorts, useHubFakeTimers, waitUntil, type FakePorts, type FakeSocket } from '../support/fake-socket';

beforeEach(() => {
  useHubFakeTimers();
});
const hubs: Hub[] = [];
afterEach(async () => {
  for (const hub of hubs.splice(0)) {
    await hub.idle();
    hub.close();
  }
  vi.useRealTimers();
});

const ACK_TIMEOUT = 5000;
/** Retry delays with `random` 0.5: half the ceiling, so 500 ms, 1000 ms, 2000 ms, ... */
const RETRY_BASE = 1000;

const rule = (price: number): AlertRule => ({ symbol: 'AAPL', condition: 'above', price, repeat: 'once' });

async function start(ports: FakePorts = createFakePorts({ online: false }), outbox: Partial<HubOptions['outbox']> = {}) {
  const hub = await openHub(ports, {
    backoffBaseMs: 1000,
    outbox: { ackTimeoutMs: ACK_TIMEOUT, retry: { baseMs: RETRY_BASE, capMs: 60_000 }, ...outbox },
  });
  hubs.push(hub);
  return { ports, hub, session: hub.openSession(), socket: () => ports.sockets.last() };
}

/** Comes online and completes the handshake as `dev`. */
function goOnline(ports: FakePorts): FakeSocket {
  ports.network.set(true);
  return ports.sockets.last().accept({ user: 'dev' });
}

const sends = (socket: FakeSocket) => socket.sentOf('send');
const allSends = (ports: FakePorts) => ports.sockets.all.flatMap(sends);

async function sentCount(socket: FakeSocket, n: number): Promise<Array<FrameOf<ClientFrame, 'send'>>> {
  return waitUntil(`${n} send frames`, () => sends(socket).length === n && sends(socket));
}

/** Lets every IndexedDB write and the deliveries that follow it finish. */
async function settle(hub: Hub): Promise<void> {
  await hub.idle();
  await new Promise<void>((resolve) => setImmediate(resolve));
  await hub.idle();
}

async function createThree(session: Awaited<ReturnType<typeof start>>['session']): Promise<string[]> {
  const ids: string[] = [];
  for (const price of [101, 102, 103]) {
    const result = await session.createAlert(rule(price));
    if (!result.ok) throw new Error(result.error.message);
    ids.push(result.value.id);
  }
  return ids;
}

describe('queueing and order', () => {
  test('creates offline are written, answered with the alert id, and show as pending sync, newest first', async () => {
    const { session, ports } = await start();
    const ids = await createThree(session);
    const alerts = await session.alerts();
    expect(alerts.map((alert) => [alert.id, alert.state, alert.rule.price])).toEqual([
      [ids[2], 'pending sync', 103],
      [ids[1], 'pending sync', 102],
      [ids[0], 'pending sync', 101],
    ]);
    expect(ports.sockets.all).toEqual([]);
  });

  test('three creates are sent in order, one in flight at a time, each after the previous ack', async () => {
    const { ports, session, hub } = await start();
    const ids = await createThree(session);
    const socket = goOnline(ports);
    const [first] = await sentCount(socket, 1);
    expect(first).toMatchObject({ t: 'send', kind: 'alert.create', body: { alertId: ids[0], rule: rule(101) } });
    await settle(hub);
    expect(sends(socket)).toHaveLength(1);

    socket.receive({ t: 'ack', id: first!.id, ok: true });
    const second = (await sentCount(socket, 2))[1]!;
    expect(second.body).toMatchObject({ alertId: ids[1] });
    socket.receive({ t: 'ack', id: second.id, ok: true });
    const third = (await sentCount(socket, 3))[2]!;
    expect(third.body).toMatchObject({ alertId: ids[2] });
    socket.receive({ t: 'ack', id: third.id, ok: true });
    await settle(hub);
    expect(sends(socket)).toHaveLength(3);
    expect(new Set(sends(socket).map((frame) => frame.id)).size).toBe(3);
    // Acknowledged: active until the server's next alert list says otherwise.
    expect((await session.alerts()).map((alert) => alert.state)).toEqual(['active', 'active', 'active']);
  });

  test('a create while online is sent at once, after its write committed', async () => {
    const { ports, session } = await start();
    const socket = goOnline(ports);
    const result = await session.createAlert(rule(150));
    expect(result).toMatchObject({ ok: true });
    const [frame] = await sentCount(socket, 1);
    expect(frame).toMatchObject({ kind: 'alert.create', body: { alertId: result.ok ? result.value.id : '' } });
  });
});

describe('removal on ack only', () => {
  test('a disconnect before the ack re-sends the same id after the reconnect; the ack then removes it', async () => {
    const { ports, session, hub } = await start();
    await session.createAlert(rule(101));
    const socket = goOnline(ports);
    const [first] = await sentCount(socket, 1);
    socket.serverClose(CloseCode.abnormal);
    vi.advanceTimersByTime(500);
    const next = ports.sockets.last().accept({ user: 'dev' });
    expect(next).not.toBe(socket);
    const [again] = await sentCount(next, 1);
    expect(again).toEqual(first);
    expect((await session.alerts())[0]?.state).toBe('pending sync');

    next.receive({ t: 'ack', id: first!.id, ok: true });
    await settle(hub);
    expect((await session.alerts())[0]?.state).toBe('active');
    // Removed: the next connection sends nothing.
    next.serverClose(CloseCode.abnormal);
    vi.advanceTimersByTime(500);
    const third = ports.sockets.last().accept({ user: 'dev' });
    await settle(hub);
    expect(sends(third)).toEqual([]);
  });

  test('no ack within the timeout: nothing more at timeout + delay - 1, the same id again at timeout + delay', async () => {
    const { ports, session } = await start();
    await session.createAlert(rule(101));
    const socket = goOnline(ports);
    const [first] = await sentCount(socket, 1);
    vi.advanceTimersByTime(ACK_TIMEOUT + 500 - 1);
    expect(sends(socket)).toHaveLength(1);
    vi.advanceTimersByTime(1);
    const [, again] = await sentCount(socket, 2);
    expect(again).toEqual(first);
    // The second timeout waits twice as long (1000 ms).
    vi.advanceTimersByTime(ACK_TIMEOUT + 1000 - 1);
    expect(sends(socket)).toHaveLength(2);
    vi.advanceTimersByTime(1);
    await sentCount(socket, 3);
  });

  test('a transient refusal (rate-limited) is retried with backoff: not at d - 1, at d, same id', async () => {
    const { ports, session, hub } = await start();
    await session.createAlert(rule(101));
    const socket = goOnline(ports);
    const [first] = await sentCount(socket, 1);
    socket.receive({ t: 'ack', id: first!.id, ok: false, error: { code: 'rate-limited', message: 'slow down' } });
    await settle(hub);
    vi.advanceTimersByTime(499);
    await settle(hub);
    expect(sends(socket)).toHaveLength(1);
    vi.advanceTimersByTime(1);
    const [, again] = await sentCount(socket, 2);
    expect(again).toEqual(first);
    expect((await session.alerts())[0]?.state).toBe('pending sync');
  });

  test('a late ack (after a timeout) still removes the message and the queue moves on', async () => {
    const { ports, session } = await start();
    const ids = await createThree(session);
    const socket = goOnline(ports);
    const [first] = await sentCount(socket, 1);
    vi.advanceTimersByTime(ACK_TIMEOUT);
    socket.receive({ t: 'ack', id: first!.id, ok: true });
    const [, second] = await sentCount(socket, 2);
    expect(second!.body).toMatchObject({ alertId: ids[1] });
  });
});

describe('storage', () => {
  test('when recording an ack fails, nothing is lost: the same id goes again after a delay and its repeated ack removes it', async () => {
    const { ports, session, hub } = await start();
    const { value } = (await session.createAlert(rule(101))) as { ok: true; value: { id: string } };
    const socket = goOnline(ports);
    const [first] = await sentCount(socket, 1);
    const original = IDBObjectStore.prototype.delete;
    const failing = vi.spyOn(IDBObjectStore.prototype, 'delete').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['delete']>) {
      if (this.name === 'outbox') throw new DOMException('The disk is full', 'QuotaExceededError');
      return original.apply(this, args);
    });
    socket.receive({ t: 'ack', id: first!.id, ok: true });
    await settle(hub);
    failing.mockRestore();
    expect(ports.log.warnings().map((entry) => entry.message)).toContain('the outbox could not record an answer; it tries again');
    expect((await session.alerts())[0]).toMatchObject({ id: value.id, state: 'pending sync' });
    vi.advanceTimersByTime(499);
    expect(sends(socket)).toHaveLength(1);
    vi.advanceTimersByTime(1);
    const [, again] = await sentCount(socket, 2);
    expect(again).toEqual(first);
    socket.receive({ t: 'ack', id: first!.id, ok: true });
    await settle(hub);
    expect((await session.alerts())[0]).toMatchObject({ id: value.id, state: 'active' });
  });

  test('a create that cannot be written is refused with a StorageError and nothing is sent', async () => {
    const { ports, session, hub } = await start();
    const socket = goOnline(ports);
    const failing = vi.spyOn(IDBObjectStore.prototype, 'add').mockImplementation(() => {
      throw new DOMException('The disk is full', 'QuotaExceededError');
    });
    const result = await session.createAlert(rule(101));
    failing.mockRestore();
    expect(result).toMatchObject({ ok: false, error: { name: 'StorageError' } });
    await settle(hub);
    expect(sends(socket)).toEqual([]);
    expect(await session.alerts()).toEqual([]);
  });
});

describe('failed messages', () => {
  test('invalid: the message fails with the reason, stays visible, and the next one is sent', async () => {
    const { ports, session, hub } = await start();
    const ids = await createThree(session);
    const socket = goOnline(ports);
    const [first] = await sentCount(socket, 1);
    socket.receive({ t: 'ack', id: first!.id, ok: false, error: { code: 'invalid', message: 'unknown symbol AAPL' } });
    const [, second] = await sentCount(socket, 2);
    expect(second!.body).toMatchObject({ alertId: ids[1] });
    await settle(hub);
    const failed = (await session.alerts()).find((alert) => alert.id === ids[0]);
    expect(failed).toMatchObject({ state: 'failed', reason: 'unknown symbol AAPL' });
    // A failed message is never sent again, not even after a reconnect.
    socket.receive({ t: 'ack', id: second!.id, ok: true });
    await sentCount(socket, 3);
    socket.serverClose(CloseCode.abnormal);
    vi.advanceTimersByTime(500);
    const next = ports.sockets.last().accept({ user: 'dev' });
    const [resent] = await sentCount(next, 1);
    expect(resent!.body).toMatchObject({ alertId: ids[2] });
  });

  test('deleting a failed create removes it locally and sends nothing', async () => {
    const { ports, session, hub } = await start();
    const { value } = (await session.createAlert(rule(101))) as { ok: true; value: { id: string } };
    const socket = goOnline(ports);
    const [first] = await sentCount(socket, 1);
    socket.receive({ t: 'ack', id: first!.id, ok: false, error: { code: 'invalid', message: 'too many alerts' } });
    await settle(hub);
    expect(await session.deleteAlert(value.id)).toEqual({ ok: true, value: null });
    await settle(hub);
    expect(await session.alerts()).toEqual([]);
    expect(sends(socket)).toHaveLength(1);
  });

  test('a message older than the maximum age fails as expired instead of being sent', async () => {
    const { ports, session, hub } = await start(createFakePorts({ online: false }), { maxAgeMs: 60_000 });
    const { value: old } = (await session.createAlert(rule(101))) as { ok: true; value: { id: string } };
    vi.advanceTimersByTime(30_000);
    const { value: young } = (await session.createAlert(rule(102))) as { ok: true; value: { id: string } };
    vi.advanceTimersByTime(30_001);
    const socket = goOnline(ports);
    const [only] = await sentCount(socket, 1);
    expect(only!.body).toMatchObject({ alertId: young.id });
    await settle(hub);
    expect((await session.alerts()).find((alert) => alert.id === old.id)).toMatchObject({ state: 'failed', reason: EXPIRED_REASON });
  });
});

describe('bad acks never lose or duplicate a queued message', () => {
  test('malformed acks are refused by the codec and logged; the message stays in flight until its real ack', async () => {
    const { ports, session, hub } = await start();
    const ids = await createThree(session);
    const socket = goOnline(ports);
    const [first] = await sentCount(socket, 1);
    socket
      .receiveRaw(encode({ t: 'ack', id: first!.id }).slice().buffer)
      .receiveRaw(encode({ t: 'ack', id: first!.id, ok: 'yes' }).slice().buffer)
      .receiveRaw(encode({ t: 'ack', id: 42, ok: true }).slice().buffer)
      .receiveRaw(encode({ t: 'ack', id: first!.id, ok: false, error: { code: 'nonsense', message: 'x' } }).slice().buffer);
    await settle(hub);
    expect(sends(socket)).toHaveLength(1);
    expect(ports.log.warnings().filter((entry) => entry.message === 'ignored a bad frame from the server')).toHaveLength(4);
    expect((await session.alerts()).map((alert) => alert.state)).toEqual(['pending sync', 'pending sync', 'pending sync']);
    socket.receive({ t: 'ack', id: first!.id, ok: true });
    const [, second] = await sentCount(socket, 2);
    expect(second!.body).toMatchObject({ alertId: ids[1] });
  });

  test('an ack for an unknown id is ignored and logged', async () => {
    const { ports, session, hub } = await start();
    await createThree(session);
    const socket = goOnline(ports);
    await sentCount(socket, 1);
    socket.receive({ t: 'ack', id: '00000000-0000-4000-8000-000000000000', ok: true });
    socket.receive({ t: 'ack', id: 'not-even-a-uuid', ok: false, error: { code: 'invalid', message: 'no' } });
    await settle(hub);
    expect(sends(socket)).toHaveLength(1);
    expect(ports.log.warnings().filter((entry) => entry.message === 'ignored an ack for no queued message')).toHaveLength(2);
    expect((await session.alerts()).map((alert) => alert.state)).toEqual(['pending sync', 'pending sync', 'pending sync']);
  });

  test('a duplicate ack (at once, and again later) removes nothing more and sends nothing twice', async () => {
    const { ports, session, hub } = await start();
    const ids = await createThree(session);
    const socket = goOnline(ports);
    const [first] = await sentCount(socket, 1);
    socket.receive({ t: 'ack', id: first!.id, ok: true }).receive({ t: 'ack', id: first!.id, ok: true });
    const [, second] = await sentCount(socket, 2);
    // The repeat arrives while the second message is in flight: it must not count for it.
    socket.receive({ t: 'ack', id: first!.id, ok: true });
    await settle(hub);
    expect(sends(socket)).toHaveLength(2);
    expect((await session.alerts()).find((alert) => alert.id === ids[1])?.state).toBe('pending sync');
    socket.receive({ t: 'ack', id: second!.id, ok: true }).receive({ t: 'ack', id: second!.id, ok: false, error: { code: 'invalid', message: 'late' } });
    const [, , third] = await sentCount(socket, 3);
    expect(third!.body).toMatchObject({ alertId: ids[2] });
    await settle(hub);
    expect((await session.alerts()).find((alert) => alert.id === ids[1])?.state).toBe('active');
    expect(allSends(ports).map((frame) => frame.body)).toEqual(ids.map((alertId, i) => ({ alertId, rule: rule(101 + i) })));
  });
});

describe('restart', () => {
  test('messages queued before the hub closed are still there after openHub on the same database, and are sent', async () => {
    const first = await start();
    const ids = await createThree(first.session);
    await first.hub.idle();
    first.hub.close();

    const second = await start(createFakePorts({ online: false, indexedDB: first.ports.indexedDB }));
    await second.hub.idle();
    expect((await second.session.alerts()).map((alert) => [alert.id, alert.state])).toEqual([
      [ids[2], 'pending sync'],
      [ids[1], 'pending sync'],
      [ids[0], 'pending sync'],
    ]);
    const socket = goOnline(second.ports);
    for (let i = 0; i < 3; i++) {
      const frame = (await sentCount(socket, i + 1))[i]!;
      expect(frame.body).toMatchObject({ alertId: ids[i] });
      socket.receive({ t: 'ack', id: frame.id, ok: true });
    }
    await settle(second.hub);
    expect(sends(socket)).toHaveLength(3);
  });

  test('a restart while a message is in flight re-sends it with the same id', async () => {
    const first = await start();
    await first.session.createAlert(rule(101));
    const socket = goOnline(first.ports);
    const [sent] = await sentCount(socket, 1);
    await first.hub.idle();
    first.hub.close();

    const second = await start(createFakePorts({ online: false, indexedDB: first.ports.indexedDB }));
    const again = goOnline(second.ports);
    const [resent] = await sentCount(again, 1);
    expect(resent).toEqual(sent);
  });
});

describe('pause and delete', () => {
  test('pause and delete are queued behind the create, in order, and validated', async () => {
    const { ports, session, hub } = await start();
    const { value } = (await session.createAlert(rule(101))) as { ok: true; value: { id: string } };
    expect(await session.pauseAlert(value.id, true)).toEqual({ ok: true, value: null });
    expect(await session.deleteAlert(value.id)).toEqual({ ok: true, value: null });
    // Deleting twice queues one delete.
    expect(await session.deleteAlert(value.id)).toEqual({ ok: true, value: null });
    expect(await session.pauseAlert('no-such-alert', true)).toMatchObject({ ok: false, error: { name: 'NotFound' } });
    expect(await session.pauseAlert(value.id, 'yes' as unknown as boolean)).toMatchObject({ ok: false, error: { name: 'InvalidAlert' } });
    const socket = goOnline(ports);
    const kinds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const frame = (await sentCount(socket, i + 1))[i]!;
      kinds.push(frame.kind);
      socket.receive({ t: 'ack', id: frame.id, ok: true });
    }
    await settle(hub);
    expect(kinds).toEqual(['alert.create', 'alert.pause', 'alert.delete']);
    expect(sends(socket)).toHaveLength(3);
    expect(await session.alerts()).toEqual([]);
  });

  test('an invalid rule is refused before anything is written', async () => {
    const { ports, session, hub } = await start();
    expect(await session.createAlert({ symbol: 'AAPL', condition: 'above', price: Number.NaN })).toMatchObject({
      ok: false,
      error: { name: 'InvalidAlert', message: 'Price must be a number' },
    });
    expect(await session.createAlert({ symbol: 'aapl', condition: 'above', price: 1 })).toMatchObject({ ok: false });
    expect(await session.createAlert({ symbol: 'AAPL', condition: 'percent-move', percent: 5, windowMinutes: -1 })).toMatchObject({ ok: false });
    expect(await session.createAlert({ ...rule(1), expiresAt: Date.now() - 1 })).toMatchObject({ ok: false, error: { message: 'Expiry must be in the future' } });
    expect(await session.createAlert({ symbol: 'AAPL', condition: 'below', price: 1e13 })).toMatchObject({ ok: false });
    const socket = goOnline(ports);
    await settle(hub);
    expect(sends(socket)).toEqual([]);
    expect(await session.alerts()).toEqual([]);
  });
});
