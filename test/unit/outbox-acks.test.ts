/**
 * The outbox's acks: a message is removed only on its ack, re-sent with the same id after a
 * disconnect, a timeout or a transient refusal, and bad, unknown or repeated acks neither lose nor
 * duplicate anything. Fake socket, fresh fake-indexeddb, fake timers leaving `setImmediate` real.
 */
import { encode } from '@msgpack/msgpack';
import { describe, expect, test, vi } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import { createFakePlatform } from '../support/fake-socket';
import { useHubHarness } from '../support/hub-harness';
import { ACK_TIMEOUT, allSends, createThree, goOnline, rule, sends, sentCount, start } from '../support/outbox-hub';

useHubHarness();

describe('removal on ack only', () => {
  test('a disconnect before the ack re-sends the same id after the reconnect; the ack then removes it', async () => {
    const { platform, session, hub } = await start();
    await session.createAlert(rule(101));
    const socket = goOnline(platform);
    const [first] = await sentCount(socket, 1);
    socket.serverClose(CloseCode.abnormal);
    vi.advanceTimersByTime(500);
    const next = platform.sockets.last().accept({ user: 'dev' });
    expect(next).not.toBe(socket);
    const [again] = await sentCount(next, 1);
    expect(again).toEqual(first);
    expect((await session.alerts())[0]?.state).toBe('pending sync');

    next.receive({ t: 'ack', id: first!.id, ok: true });
    await hub.idle();
    expect((await session.alerts())[0]?.state).toBe('active');
    // Removed: the next connection sends nothing.
    next.serverClose(CloseCode.abnormal);
    vi.advanceTimersByTime(500);
    const third = platform.sockets.last().accept({ user: 'dev' });
    await hub.idle();
    expect(sends(third)).toEqual([]);
  });

  test('no ack within the timeout: nothing more at timeout + delay - 1, the same id again at timeout + delay', async () => {
    const { platform, session } = await start();
    await session.createAlert(rule(101));
    const socket = goOnline(platform);
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
    const { platform, session, hub } = await start();
    await session.createAlert(rule(101));
    const socket = goOnline(platform);
    const [first] = await sentCount(socket, 1);
    socket.receive({ t: 'ack', id: first!.id, ok: false, error: { code: 'rate-limited', message: 'slow down' } });
    await hub.idle();
    vi.advanceTimersByTime(499);
    await hub.idle();
    expect(sends(socket)).toHaveLength(1);
    vi.advanceTimersByTime(1);
    const [, again] = await sentCount(socket, 2);
    expect(again).toEqual(first);
    expect((await session.alerts())[0]?.state).toBe('pending sync');
  });

  test('a late ack (after a timeout) still removes the message, and the rest are sent again at once', async () => {
    const { platform, session, hub } = await start();
    const ids = await createThree(session);
    const socket = goOnline(platform);
    const sent = await sentCount(socket, 3);
    vi.advanceTimersByTime(ACK_TIMEOUT);
    socket.receive({ t: 'ack', id: sent[0]!.id, ok: true });
    // The server answers again: the other two go again, same ids, in order, without the backoff.
    const again = (await sentCount(socket, 5)).slice(3);
    expect(again).toEqual(sent.slice(1));
    await hub.idle();
    expect((await session.alerts()).find((alert) => alert.id === ids[0])?.state).toBe('active');
  });
});

describe('bad acks never lose or duplicate a queued message', () => {
  test('malformed acks are refused by the codec and logged; the message stays in flight until its real ack', async () => {
    const { platform, session, hub } = await start();
    const ids = await createThree(session);
    const socket = goOnline(platform);
    const [first] = await sentCount(socket, 3);
    socket
      .receiveRaw(encode({ t: 'ack', id: first!.id }).slice().buffer)
      .receiveRaw(encode({ t: 'ack', id: first!.id, ok: 'yes' }).slice().buffer)
      .receiveRaw(encode({ t: 'ack', id: 42, ok: true }).slice().buffer)
      .receiveRaw(encode({ t: 'ack', id: first!.id, ok: false, error: { code: 'nonsense', message: 'x' } }).slice().buffer);
    await hub.idle();
    expect(sends(socket)).toHaveLength(3);
    expect(platform.log.warnings().filter((entry) => entry.message === 'ignored a bad frame from the server')).toHaveLength(4);
    expect((await session.alerts()).map((alert) => alert.state)).toEqual(['pending sync', 'pending sync', 'pending sync']);
    socket.receive({ t: 'ack', id: first!.id, ok: true });
    await hub.idle();
    expect((await session.alerts()).find((alert) => alert.id === ids[0])?.state).toBe('active');
    expect(sends(socket)).toHaveLength(3);
  });

  test('an ack for an unknown id is ignored and logged', async () => {
    const { platform, session, hub } = await start();
    await createThree(session);
    const socket = goOnline(platform);
    await sentCount(socket, 3);
    socket.receive({ t: 'ack', id: '00000000-0000-4000-8000-000000000000', ok: true });
    socket.receive({ t: 'ack', id: 'not-even-a-uuid', ok: false, error: { code: 'invalid', message: 'no' } });
    await hub.idle();
    expect(sends(socket)).toHaveLength(3);
    expect(platform.log.warnings().filter((entry) => entry.message === 'ignored an ack for no queued message')).toHaveLength(2);
    expect((await session.alerts()).map((alert) => alert.state)).toEqual(['pending sync', 'pending sync', 'pending sync']);
  });

  test('a duplicate ack (at once, and again later) removes nothing more and sends nothing twice', async () => {
    const { platform, session, hub } = await start(createFakePlatform({ online: false }), { window: 2 });
    const ids = await createThree(session);
    const socket = goOnline(platform);
    const [first, second] = await sentCount(socket, 2);
    socket.receive({ t: 'ack', id: first!.id, ok: true }).receive({ t: 'ack', id: first!.id, ok: true });
    const [, , third] = await sentCount(socket, 3);
    // The repeat arrives while the others are in flight: it must not count for either of them.
    socket.receive({ t: 'ack', id: first!.id, ok: true });
    await hub.idle();
    expect(sends(socket)).toHaveLength(3);
    expect((await session.alerts()).filter((alert) => alert.id !== ids[0]).map((alert) => alert.state)).toEqual(['pending sync', 'pending sync']);
    socket.receive({ t: 'ack', id: second!.id, ok: true }).receive({ t: 'ack', id: second!.id, ok: false, error: { code: 'invalid', message: 'late' } });
    expect(third!.body).toMatchObject({ alertId: ids[2] });
    await hub.idle();
    expect((await session.alerts()).find((alert) => alert.id === ids[1])?.state).toBe('active');
    expect(allSends(platform).map((frame) => frame.body)).toEqual(ids.map((alertId, i) => ({ alertId, rule: rule(101 + i) })));
  });
});
