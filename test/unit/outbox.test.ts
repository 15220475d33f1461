/**
 * The outbox inside the hub: client messages written to a fresh fake-indexeddb before anything is
 * sent, sent in order over a scripted fake socket, pause and delete queued behind creates, and
 * resumed after a restart. Acks: outbox-acks.test.ts; failures: outbox-failures.test.ts; the send
 * window: outbox-window.test.ts.
 * Fake timers leave `setImmediate` (and so IndexedDB) real.
 */
import { describe, expect, test } from 'vitest';
import { createFakePlatform } from '../support/fake-socket';
import { useHubHarness } from '../support/hub-harness';
import { createThree, goOnline, rule, sends, sentCount, start } from '../support/outbox-hub';

useHubHarness();

describe('queueing and order', () => {
  test('creates offline are written, answered with the alert id, and show as pending sync, newest first', async () => {
    const { session, platform } = await start();
    const ids = await createThree(session);
    const alerts = await session.alerts();
    expect(alerts.map((alert) => [alert.id, alert.state, alert.rule.price])).toEqual([
      [ids[2], 'pending sync', 103],
      [ids[1], 'pending sync', 102],
      [ids[0], 'pending sync', 101],
    ]);
    expect(platform.sockets.all).toEqual([]);
  });

  test('three creates go out at once, in queue order, each with its own id; each ack removes its own', async () => {
    const { platform, session, hub } = await start();
    const ids = await createThree(session);
    const socket = goOnline(platform);
    const sent = await sentCount(socket, 3);
    expect(sent.map((frame) => [frame.kind, frame.body])).toEqual(ids.map((alertId, i) => ['alert.create', { alertId, rule: rule(101 + i) }]));
    expect(new Set(sent.map((frame) => frame.id)).size).toBe(3);

    // Acks may come in any order; each removes exactly its own message.
    socket.receive({ t: 'ack', id: sent[1]!.id, ok: true });
    await hub.idle();
    expect((await session.alerts()).map((alert) => [alert.id, alert.state])).toEqual([
      [ids[2], 'pending sync'],
      [ids[1], 'active'],
      [ids[0], 'pending sync'],
    ]);
    socket.receive({ t: 'ack', id: sent[0]!.id, ok: true }).receive({ t: 'ack', id: sent[2]!.id, ok: true });
    await hub.idle();
    expect(sends(socket)).toHaveLength(3);
    // Acknowledged: active until the server's next alert list says otherwise.
    expect((await session.alerts()).map((alert) => alert.state)).toEqual(['active', 'active', 'active']);
  });

  test('a create while online is sent at once, after its write committed', async () => {
    const { platform, session } = await start();
    const socket = goOnline(platform);
    const result = await session.createAlert(rule(150));
    expect(result).toMatchObject({ ok: true });
    const [frame] = await sentCount(socket, 1);
    expect(frame).toMatchObject({ kind: 'alert.create', body: { alertId: result.ok ? result.value.id : '' } });
  });
});

describe('pause and delete', () => {
  test('pause and delete are queued behind the create, in order, and validated', async () => {
    const { platform, session, hub } = await start();
    const { value } = (await session.createAlert(rule(101))) as { ok: true; value: { id: string } };
    expect(await session.pauseAlert(value.id, true)).toEqual({ ok: true, value: null });
    expect(await session.deleteAlert(value.id)).toEqual({ ok: true, value: null });
    // Deleting twice queues one delete.
    expect(await session.deleteAlert(value.id)).toEqual({ ok: true, value: null });
    expect(await session.pauseAlert('no-such-alert', true)).toMatchObject({ ok: false, error: { name: 'NotFound' } });
    expect(await session.pauseAlert(value.id, 'yes' as unknown as boolean)).toMatchObject({ ok: false, error: { name: 'InvalidAlert' } });
    const socket = goOnline(platform);
    const kinds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const frame = (await sentCount(socket, i + 1))[i]!;
      // Each is about the same alert: the next waits for this one's answer.
      await hub.idle();
      expect(sends(socket)).toHaveLength(i + 1);
      kinds.push(frame.kind);
      socket.receive({ t: 'ack', id: frame.id, ok: true });
    }
    await hub.idle();
    expect(kinds).toEqual(['alert.create', 'alert.pause', 'alert.delete']);
    expect(sends(socket)).toHaveLength(3);
    expect(await session.alerts()).toEqual([]);
  });

  test('an invalid rule is refused before anything is written', async () => {
    const { platform, session, hub } = await start();
    expect(await session.createAlert({ symbol: 'AAPL', condition: 'above', price: Number.NaN })).toMatchObject({
      ok: false,
      error: { name: 'InvalidAlert', message: 'Price must be a number' },
    });
    expect(await session.createAlert({ symbol: 'aapl', condition: 'above', price: 1 })).toMatchObject({ ok: false });
    expect(await session.createAlert({ symbol: 'AAPL', condition: 'percent-move', percent: 5, windowMinutes: -1 })).toMatchObject({ ok: false });
    expect(await session.createAlert({ ...rule(1), expiresAt: Date.now() - 1 })).toMatchObject({ ok: false, error: { message: 'Expiry must be in the future' } });
    expect(await session.createAlert({ symbol: 'AAPL', condition: 'below', price: 1e13 })).toMatchObject({ ok: false });
    const socket = goOnline(platform);
    await hub.idle();
    expect(sends(socket)).toEqual([]);
    expect(await session.alerts()).toEqual([]);
  });
});

describe('restart', () => {
  test('messages queued before the hub closed are still there after openHub on the same database, and are sent', async () => {
    const first = await start();
    const ids = await createThree(first.session);
    await first.hub.idle();
    first.hub.close();

    const second = await start(createFakePlatform({ online: false, indexedDB: first.platform.indexedDB }));
    await second.hub.idle();
    expect((await second.session.alerts()).map((alert) => [alert.id, alert.state])).toEqual([
      [ids[2], 'pending sync'],
      [ids[1], 'pending sync'],
      [ids[0], 'pending sync'],
    ]);
    const socket = goOnline(second.platform);
    const sent = await sentCount(socket, 3);
    expect(sent.map((frame) => frame.body)).toMatchObject(ids.map((alertId) => ({ alertId })));
    for (const frame of sent) socket.receive({ t: 'ack', id: frame.id, ok: true });
    await second.hub.idle();
    expect(sends(socket)).toHaveLength(3);
    expect((await second.session.alerts()).map((alert) => alert.state)).toEqual(['active', 'active', 'active']);
  });

  test('a restart while a message is in flight re-sends it with the same id', async () => {
    const first = await start();
    await first.session.createAlert(rule(101));
    const socket = goOnline(first.platform);
    const [sent] = await sentCount(socket, 1);
    await first.hub.idle();
    first.hub.close();

    const second = await start(createFakePlatform({ online: false, indexedDB: first.platform.indexedDB }));
    const again = goOnline(second.platform);
    const [resent] = await sentCount(again, 1);
    expect(resent).toEqual(sent);
  });
});
