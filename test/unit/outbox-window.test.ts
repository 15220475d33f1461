/**
 * The outbox's send window: several messages in flight, in queue order; a message never sent while
 * an earlier one it depends on is unanswered; refusals "for now" (rate-limited, no ack in time)
 * retried in order; and, against a scripted server that applies each id once, exactly-once effects
 * in queue order across cuts mid-window and a hub closed and opened again mid-window. Fake socket,
 * fresh fake-indexeddb, fake timers leaving `setImmediate` real.
 */
import { describe, expect, test, vi } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import type { HubSession } from '../../worker/core/hub';
import { createFakeAlertServer } from '../support/fake-alert-server';
import { createFakePlatform, type FakePlatform, type FakeSocket } from '../support/fake-socket';
import { useHubHarness } from '../support/hub-harness';
import { seededRandom } from '../support/random';
import { ACK_TIMEOUT, goOnline, rule, sends, sentCount, start } from '../support/outbox-hub';

useHubHarness();

async function create(session: HubSession, price: number): Promise<string> {
  const result = await session.createAlert(rule(price));
  if (!result.ok) throw new Error(result.error.message);
  return result.value.id;
}

async function pause(session: HubSession, id: string, paused: boolean): Promise<void> {
  const result = await session.pauseAlert(id, paused);
  if (!result.ok) throw new Error(result.error.message);
}

const alertIdOf = (frame: { readonly body: unknown }): string => (frame.body as { alertId: string }).alertId;

/** Cuts the connection and completes the handshake on the next socket the hub opens. */
function reconnect(platform: FakePlatform, socket: FakeSocket): FakeSocket {
  socket.serverClose(CloseCode.abnormal);
  const before = platform.sockets.all.length;
  for (let waited = 0; platform.sockets.all.length === before; waited += 100) {
    if (waited > 60_000) throw new Error('the hub did not reconnect');
    vi.advanceTimersByTime(100);
  }
  return platform.sockets.last().accept({ user: 'dev' });
}

describe('the window', () => {
  test('at most `window` in flight; each ack frees room for the next, in queue order', async () => {
    const { platform, session, hub } = await start(createFakePlatform({ online: false }), { window: 2 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await create(session, 101 + i));
    const socket = goOnline(platform);
    const sent = await sentCount(socket, 2);
    await hub.idle();
    expect(sends(socket)).toHaveLength(2);
    socket.receive({ t: 'ack', id: sent[1]!.id, ok: true });
    await sentCount(socket, 3);
    socket.receive({ t: 'ack', id: sent[0]!.id, ok: true });
    const all = await sentCount(socket, 4);
    await hub.idle();
    expect(sends(socket)).toHaveLength(4);
    socket.receive({ t: 'ack', id: all[2]!.id, ok: true }).receive({ t: 'ack', id: all[3]!.id, ok: true });
    const last = await sentCount(socket, 5);
    expect(last.map(alertIdOf)).toEqual(ids);
  });

  test('a message waits while an earlier one about the same alert is unanswered, and holds up what follows', async () => {
    const { platform, session, hub } = await start();
    const a = await create(session, 101);
    await pause(session, a, true);
    const b = await create(session, 102);
    const socket = goOnline(platform);
    const [first] = await sentCount(socket, 1);
    await hub.idle();
    expect(sends(socket)).toEqual([first]);
    expect(first).toMatchObject({ kind: 'alert.create', body: { alertId: a } });
    socket.receive({ t: 'ack', id: first!.id, ok: true });
    const sent = await sentCount(socket, 3);
    expect(sent.slice(1).map((frame) => [frame.kind, alertIdOf(frame)])).toEqual([
      ['alert.pause', a],
      ['alert.create', b],
    ]);
  });

  test('a create after a delete waits for the delete, which may be what makes room for it', async () => {
    const { platform, session, hub } = await start();
    const a = await create(session, 101);
    const socket = goOnline(platform);
    const [created] = await sentCount(socket, 1);
    socket.receive({ t: 'ack', id: created!.id, ok: true });
    await hub.idle();
    expect(await session.deleteAlert(a)).toEqual({ ok: true, value: null });
    const c = await create(session, 103);
    const [, deleted] = await sentCount(socket, 2);
    await hub.idle();
    expect(sends(socket)).toHaveLength(2);
    expect(deleted).toMatchObject({ kind: 'alert.delete', body: { alertId: a } });
    socket.receive({ t: 'ack', id: deleted!.id, ok: true });
    const [, , next] = await sentCount(socket, 3);
    expect(next).toMatchObject({ kind: 'alert.create', body: { alertId: c } });
  });

  test('a refused create: the pause behind it goes only after the refusal, and the alert shows why the create was refused', async () => {
    const { platform, session, hub } = await start();
    const a = await create(session, 101);
    await pause(session, a, true);
    const socket = goOnline(platform);
    const [created] = await sentCount(socket, 1);
    await hub.idle();
    expect(sends(socket)).toHaveLength(1);
    socket.receive({ t: 'ack', id: created!.id, ok: false, error: { code: 'invalid', message: 'At most 100 alerts per user: delete some first' } });
    const [, paused] = await sentCount(socket, 2);
    expect(paused).toMatchObject({ kind: 'alert.pause', body: { alertId: a } });
    socket.receive({ t: 'ack', id: paused!.id, ok: false, error: { code: 'invalid', message: `Unknown alert ${a}` } });
    await hub.idle();
    expect(await session.alerts()).toMatchObject([{ id: a, state: 'failed', reason: 'At most 100 alerts per user: delete some first' }]);
  });
});

describe('answers for now', () => {
  test('rate-limited acks hold the queue, then the refused are sent again in order, one at a time, as far apart as the server asked', async () => {
    const { platform, session, hub } = await start(createFakePlatform({ online: false }), { window: 4 });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await create(session, 101 + i));
    const socket = goOnline(platform);
    const sent = await sentCount(socket, 4);
    // The server refuses at arrival, so those answers overtake the first one's.
    for (const frame of sent.slice(1)) {
      socket.receive({ t: 'ack', id: frame.id, ok: false, error: { code: 'rate-limited', message: 'Rate limited', retryAfterMs: 200 } });
    }
    socket.receive({ t: 'ack', id: sent[0]!.id, ok: true });
    await hub.idle();
    for (const expected of sent.slice(1)) {
      const before = sends(socket).length;
      vi.advanceTimersByTime(199);
      await hub.idle();
      expect(sends(socket)).toHaveLength(before);
      vi.advanceTimersByTime(1);
      const again = (await sentCount(socket, before + 1)).at(-1)!;
      expect(again).toEqual(expected);
      socket.receive({ t: 'ack', id: again.id, ok: true });
      await hub.idle();
    }
    expect((await session.alerts()).map((alert) => alert.state)).toEqual(['active', 'active', 'active', 'active']);
    // The queue drained: the whole window is open again.
    await create(session, 105);
    await create(session, 106);
    await sentCount(socket, 9);
  });

  test('no answer in time: everything in flight goes again after the backoff, oldest first, same ids', async () => {
    const { platform, session, hub } = await start(createFakePlatform({ online: false }), { window: 3 });
    for (let i = 0; i < 3; i++) await create(session, 101 + i);
    const socket = goOnline(platform);
    const sent = await sentCount(socket, 3);
    vi.advanceTimersByTime(ACK_TIMEOUT + 500 - 1);
    await hub.idle();
    expect(sends(socket)).toHaveLength(3);
    vi.advanceTimersByTime(1);
    expect((await sentCount(socket, 6)).slice(3)).toEqual(sent);
  });

  test('no answer in time after an earlier ack was recorded: the rest go again, oldest first', async () => {
    const { platform, session, hub } = await start(createFakePlatform({ online: false }), { window: 3 });
    for (let i = 0; i < 3; i++) await create(session, 101 + i);
    const socket = goOnline(platform);
    const sent = await sentCount(socket, 3);
    socket.receive({ t: 'ack', id: sent[0]!.id, ok: true });
    // Recorded while the other two are in flight: the pump has seen them lead the list, busy.
    await hub.idle();
    vi.advanceTimersByTime(ACK_TIMEOUT + 500 - 1);
    await hub.idle();
    expect(sends(socket)).toHaveLength(3);
    vi.advanceTimersByTime(1);
    expect((await sentCount(socket, 5)).slice(3)).toEqual(sent.slice(1));
  });

  test('an answer gives the rest in flight the whole timeout again', async () => {
    const { platform, session, hub } = await start(createFakePlatform({ online: false }), { window: 3 });
    for (let i = 0; i < 3; i++) await create(session, 101 + i);
    const socket = goOnline(platform);
    const sent = await sentCount(socket, 3);
    vi.advanceTimersByTime(ACK_TIMEOUT - 1);
    socket.receive({ t: 'ack', id: sent[0]!.id, ok: true });
    vi.advanceTimersByTime(ACK_TIMEOUT + 500 - 1);
    await hub.idle();
    expect(sends(socket)).toHaveLength(3);
    vi.advanceTimersByTime(1);
    expect((await sentCount(socket, 5)).slice(3)).toEqual(sent.slice(1));
  });
});

describe('exactly once, in queue order', () => {
  /** Three alerts: created, paused, resumed and paused again, in turns; then the first deleted and a fourth created. */
  async function queuePlan(session: HubSession): Promise<number> {
    const ids = [await create(session, 101), await create(session, 102), await create(session, 103)];
    for (const paused of [true, false, true]) for (const id of ids) await pause(session, id, paused);
    expect(await session.deleteAlert(ids[0]!)).toEqual({ ok: true, value: null });
    await create(session, 104);
    return 3 + 9 + 2;
  }

  test.each([1, 2, 3, 4, 5, 6, 7, 8])('cut mid-window at random points (seed %i): every message applied once, in queue order', async (seed) => {
    const random = seededRandom(seed);
    const { platform, session, hub } = await start(createFakePlatform({ online: false }), { window: 4 });
    const total = await queuePlan(session);
    const server = createFakeAlertServer();
    let socket = goOnline(platform);
    for (let round = 0; ; round++) {
      if (round > 200) throw new Error(`no progress (seed ${seed})`);
      await hub.idle();
      if (server.applied.length === total && server.pending(socket).length === 0 && hub.status().s === 'open') break;
      if (random() < 0.35) {
        // A cut: part of what was sent arrived and was applied, part of the answers got back.
        const acks = server.handle(socket, Math.floor(random() * (server.pending(socket).length + 1)));
        const answered = acks.slice(0, Math.floor(random() * (acks.length + 1)));
        server.deliver(socket, answered);
        await hub.idle();
        const unanswered = sends(socket).slice(sends(socket).length - server.pending(socket).length - (acks.length - answered.length));
        socket = reconnect(platform, socket);
        await hub.idle();
        // What was in flight and unanswered goes again first, at once, oldest first.
        expect(sends(socket).slice(0, unanswered.length)).toEqual(unanswered);
      } else {
        server.deliver(socket, server.handle(socket));
      }
    }
    await hub.idle();
    const order = platform.sockets.all.flatMap(sends).map((frame) => frame.id);
    // The first time each id was sent is queue order; the server applied exactly those, in that order.
    const queueOrder = [...new Set(order)];
    expect(queueOrder).toHaveLength(total);
    expect(server.applied).toEqual(queueOrder);
    expect(await session.alerts()).toHaveLength(3);
  });

  test('a hub closed mid-window and opened again on the same database: every message applied once, in queue order', async () => {
    const first = await start(createFakePlatform({ online: false }), { window: 4 });
    const total = await queuePlan(first.session);
    const server = createFakeAlertServer();
    const socket = goOnline(first.platform);
    await sentCount(socket, 3);
    // Two creates arrived and were applied; the first one's answer got back (so its pause went
    // out too) before the service worker stopped.
    const acks = server.handle(socket, 2);
    server.deliver(socket, acks.slice(0, 1));
    await sentCount(socket, 4);
    await first.hub.idle();
    first.hub.close();

    const second = await start(createFakePlatform({ online: false, indexedDB: first.platform.indexedDB }), { window: 4 });
    const again = goOnline(second.platform);
    for (let round = 0; server.applied.length < total || server.pending(again).length > 0; round++) {
      if (round > 100) throw new Error('no progress');
      await second.hub.idle();
      server.deliver(again, server.handle(again));
    }
    await second.hub.idle();
    const queueOrder = [...new Set([...sends(socket), ...sends(again)].map((frame) => frame.id))];
    expect(queueOrder).toHaveLength(total);
    expect(server.applied).toEqual(queueOrder);
    // Sent again first: the one applied whose answer was lost, the one in flight, and the pause.
    expect(sends(again).slice(0, 3).map((frame) => frame.id)).toEqual(sends(socket).slice(1, 4).map((frame) => frame.id));
    expect((await second.session.alerts()).every((alert) => alert.state !== 'pending sync')).toBe(true);
  });
});
