/**
 * The outbox when things fail: storage errors lose nothing, and messages refused as `invalid` or
 * expired by age fail and stay visible. Fake socket, fresh fake-indexeddb, fake timers leaving
 * `setImmediate` real.
 */
import { IDBObjectStore } from 'fake-indexeddb';
import { describe, expect, test, vi } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import { EXPIRED_REASON } from '../../worker/core/outbox/outbox';
import { createFakePlatform } from '../support/fake-socket';
import { useHubHarness } from '../support/hub-harness';
import { createThree, goOnline, rule, sends, sentCount, start } from '../support/outbox-hub';

useHubHarness();

describe('storage', () => {
  test('when recording an ack fails, nothing is lost: the same id goes again after a delay and its repeated ack removes it', async () => {
    const { platform, session, hub } = await start();
    const { value } = (await session.createAlert(rule(101))) as { ok: true; value: { id: string } };
    const socket = goOnline(platform);
    const [first] = await sentCount(socket, 1);
    const original = IDBObjectStore.prototype.delete;
    const failing = vi.spyOn(IDBObjectStore.prototype, 'delete').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['delete']>) {
      if (this.name === 'outbox') throw new DOMException('The disk is full', 'QuotaExceededError');
      return original.apply(this, args);
    });
    socket.receive({ t: 'ack', id: first!.id, ok: true });
    await hub.idle();
    failing.mockRestore();
    expect(platform.log.warnings().map((entry) => entry.message)).toContain('the outbox could not record answers; it tries again');
    expect((await session.alerts())[0]).toMatchObject({ id: value.id, state: 'pending sync' });
    vi.advanceTimersByTime(499);
    expect(sends(socket)).toHaveLength(1);
    vi.advanceTimersByTime(1);
    const [, again] = await sentCount(socket, 2);
    expect(again).toEqual(first);
    socket.receive({ t: 'ack', id: first!.id, ok: true });
    await hub.idle();
    expect((await session.alerts())[0]).toMatchObject({ id: value.id, state: 'active' });
  });

  test('a create that cannot be written is refused with a StorageError and nothing is sent', async () => {
    const { platform, session, hub } = await start();
    const socket = goOnline(platform);
    const failing = vi.spyOn(IDBObjectStore.prototype, 'add').mockImplementation(() => {
      throw new DOMException('The disk is full', 'QuotaExceededError');
    });
    const result = await session.createAlert(rule(101));
    failing.mockRestore();
    expect(result).toMatchObject({ ok: false, error: { name: 'StorageError' } });
    await hub.idle();
    expect(sends(socket)).toEqual([]);
    expect(await session.alerts()).toEqual([]);
  });
});

describe('failed messages', () => {
  test('invalid: the message fails with the reason, stays visible, holds nothing up, and is never sent again', async () => {
    const { platform, session, hub } = await start();
    const ids = await createThree(session);
    const socket = goOnline(platform);
    const [first, second] = await sentCount(socket, 3);
    socket.receive({ t: 'ack', id: first!.id, ok: false, error: { code: 'invalid', message: 'unknown symbol AAPL' } });
    await hub.idle();
    const failed = (await session.alerts()).find((alert) => alert.id === ids[0]);
    expect(failed).toMatchObject({ state: 'failed', reason: 'unknown symbol AAPL' });
    // A failed message is never sent again, not even after a reconnect.
    socket.receive({ t: 'ack', id: second!.id, ok: true });
    await hub.idle();
    socket.serverClose(CloseCode.abnormal);
    vi.advanceTimersByTime(500);
    const next = platform.sockets.last().accept({ user: 'dev' });
    const [resent] = await sentCount(next, 1);
    expect(resent!.body).toMatchObject({ alertId: ids[2] });
    await hub.idle();
    expect(sends(next)).toHaveLength(1);
  });

  test('deleting a failed create removes it locally and sends nothing', async () => {
    const { platform, session, hub } = await start();
    const { value } = (await session.createAlert(rule(101))) as { ok: true; value: { id: string } };
    const socket = goOnline(platform);
    const [first] = await sentCount(socket, 1);
    socket.receive({ t: 'ack', id: first!.id, ok: false, error: { code: 'invalid', message: 'too many alerts' } });
    await hub.idle();
    expect(await session.deleteAlert(value.id)).toEqual({ ok: true, value: null });
    await hub.idle();
    expect(await session.alerts()).toEqual([]);
    expect(sends(socket)).toHaveLength(1);
  });

  test('a message older than the maximum age fails as expired instead of being sent', async () => {
    const { platform, session, hub } = await start(createFakePlatform({ online: false }), { maxAgeMs: 60_000 });
    const { value: old } = (await session.createAlert(rule(101))) as { ok: true; value: { id: string } };
    vi.advanceTimersByTime(30_000);
    const { value: young } = (await session.createAlert(rule(102))) as { ok: true; value: { id: string } };
    vi.advanceTimersByTime(30_001);
    const socket = goOnline(platform);
    const [only] = await sentCount(socket, 1);
    expect(only!.body).toMatchObject({ alertId: young.id });
    await hub.idle();
    expect((await session.alerts()).find((alert) => alert.id === old.id)).toMatchObject({ state: 'failed', reason: EXPIRED_REASON });
  });
});
