/**
 * The alert list: the merge of the server's `alerts:<user>` value with the outbox (a pure function,
 * state by state), and inside the hub: its own subscription on every open, the `AlertsUpdate`s every
 * view gets, and the stored list after a restart. Fake socket, fresh fake-indexeddb per test.
 */
import { describe, expect, test, vi } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import type { AlertRule, ServerAlert } from '../../lib/wire/alerts';
import type { AlertsUpdate } from '../../lib/rpc/hub-api';
import { mergeAlerts, parseAlertsState } from '../../worker/core/alerts/alert-list';
import type { OutboxEntry } from '../../worker/core/outbox/store';
import { createFakePlatform, waitUntil, type FakePlatform, type FakeSocket } from '../support/fake-socket';
import { listenAll, openTestHub, useHubHarness } from '../support/hub-harness';

const rule = (price: number, symbol = 'AAPL'): AlertRule => ({ symbol, condition: 'above', price, repeat: 'once' });

const server = (id: string, status: ServerAlert['status'], createdAt: number, extra: Partial<ServerAlert> = {}): ServerAlert => ({
  id,
  rule: rule(createdAt),
  status,
  createdAt,
  fireCount: status === 'fired' ? 1 : 0,
  ...extra,
});

let seq = 0;
function entry(message: Pick<OutboxEntry, 'kind' | 'body'>, state: OutboxEntry['state'] = 'queued', reason?: string): OutboxEntry {
  seq++;
  return { ...message, id: `m${seq}`, seq, user: 'dev', createdAt: 1000 + seq, attempts: 0, state, ...(reason ? { reason } : {}) } as OutboxEntry;
}

describe('mergeAlerts', () => {
  test('the server status shows as is, newest first, with firing details', () => {
    const list = mergeAlerts(
      [server('a', 'active', 30), server('p', 'paused', 20), server('f', 'fired', 10, { firedAt: 11, firedPrice: 12 }), server('e', 'expired', 5)],
      [],
      [],
    );
    expect(list.map((item) => [item.id, item.state])).toEqual([
      ['a', 'active'],
      ['p', 'paused'],
      ['f', 'fired'],
      ['e', 'expired'],
    ]);
    expect(list[2]).toEqual({ id: 'f', rule: rule(10), state: 'fired', firedAt: 11, firedPrice: 12 });
  });

  test.each([
    ['a queued create the server does not hold yet', [entry({ kind: 'alert.create', body: { alertId: 'n', rule: rule(7) } })], { id: 'n', state: 'pending sync' }],
    ['a refused create', [entry({ kind: 'alert.create', body: { alertId: 'n', rule: rule(7) } }, 'failed', 'unknown symbol AAPL')], { id: 'n', state: 'failed', reason: 'unknown symbol AAPL' }],
    ['a queued pause of a server alert', [entry({ kind: 'alert.pause', body: { alertId: 'a', paused: true } })], { id: 'a', state: 'pending sync' }],
    ['a refused pause of a server alert', [entry({ kind: 'alert.pause', body: { alertId: 'a', paused: true } }, 'failed', 'nope')], { id: 'a', state: 'failed', reason: 'nope' }],
    ['a queued delete', [entry({ kind: 'alert.delete', body: { alertId: 'a' } })], { id: 'a', state: 'pending sync' }],
    ['a queued update shows the new rule', [entry({ kind: 'alert.update', body: { alertId: 'a', rule: rule(99) } })], { id: 'a', state: 'pending sync', rule: rule(99) }],
    ['a refused update keeps the server rule', [entry({ kind: 'alert.update', body: { alertId: 'a', rule: rule(99) } }, 'failed', 'bad')], { id: 'a', state: 'failed', rule: rule(30) }],
  ] as const)('%s', (_name, entries, expected) => {
    const list = mergeAlerts([server('a', 'active', 30)], [], entries);
    expect(list.find((item) => item.id === expected.id)).toMatchObject(expected);
  });

  test('a pause or delete for an alert listed nowhere shows nothing', () => {
    expect(mergeAlerts([], [], [entry({ kind: 'alert.pause', body: { alertId: 'x', paused: true } }, 'failed', 'unknown alert')])).toEqual([]);
  });

  test('what was acknowledged since the server list was sent applies until the next list', () => {
    const acked = [
      entry({ kind: 'alert.create', body: { alertId: 'n', rule: rule(7) } }),
      entry({ kind: 'alert.pause', body: { alertId: 'a', paused: true } }),
      entry({ kind: 'alert.delete', body: { alertId: 'd' } }),
    ];
    const list = mergeAlerts([server('a', 'active', 30), server('d', 'active', 20)], acked, []);
    expect(list.map((item) => [item.id, item.state])).toEqual([
      ['n', 'active'],
      ['a', 'paused'],
    ]);
  });

  test('server values are validated', () => {
    expect(parseAlertsState({ alerts: [server('a', 'active', 1)] }).ok).toBe(true);
    expect(parseAlertsState({ alerts: [{ ...server('a', 'active', 1), status: 'exploded' }] })).toMatchObject({ ok: false });
    expect(parseAlertsState({ alerts: [{ ...server('a', 'active', 1), rule: { symbol: 'AAPL', condition: 'above' } }] })).toMatchObject({
      ok: false,
      error: 'alerts.0.rule: Price is required for this condition',
    });
    expect(parseAlertsState([])).toMatchObject({ ok: false });
  });

  test('an alert seen before is validated again as soon as any field differs', () => {
    const first = parseAlertsState({ alerts: [server('a', 'active', 1), server('b', 'paused', 2)] });
    expect(first.ok).toBe(true);
    // Unchanged: the same value comes back, unknown keys dropped as the schema drops them.
    const again = parseAlertsState({ alerts: [{ ...server('a', 'active', 1), extra: 'x' }, server('b', 'paused', 2)] });
    expect(again).toEqual(first);
    expect(parseAlertsState({ alerts: [server('b', 'paused', 2), { ...server('a', 'active', 1), status: 'exploded' }] })).toMatchObject({
      ok: false,
      error: 'alerts.1.status: Invalid type: Expected ("active" | "paused" | "fired" | "expired") but received "exploded"',
    });
    expect(parseAlertsState({ alerts: [{ ...server('a', 'active', 1), rule: { ...rule(1), price: Number.NaN } }] })).toMatchObject({
      ok: false,
      error: 'alerts.0.rule.price: Price must be a number',
    });
    expect(parseAlertsState({ alerts: [{ ...server('a', 'active', 1), fireCount: -1 }] })).toMatchObject({ ok: false });
    expect(parseAlertsState({ alerts: [{ ...server('a', 'active', 1), rule: { ...rule(1), repeat: undefined } }] })).toMatchObject({
      ok: true,
      value: { alerts: [{ rule: { repeat: 'once' } }] },
    });
    expect(parseAlertsState({ alerts: [null] })).toMatchObject({ ok: false, error: expect.stringMatching(/^alerts\.0: /) });
    // Plausible times are checked on every value, seen before or not.
    expect(parseAlertsState({ alerts: [server('a', 'active', 1)] }, 1)).toMatchObject({ ok: true });
    expect(parseAlertsState({ alerts: [server('a', 'active', 1)] }, -1e12)).toMatchObject({ ok: false });
  });
});

describe('in the hub', () => {
  useHubHarness();

  async function start(platform: FakePlatform = createFakePlatform()) {
    const hub = await openTestHub(platform, { backoffBaseMs: 1000 });
    const session = hub.openSession();
    const updates = await listenAll(session);
    const alertUpdates = () => updates.filter((update): update is AlertsUpdate => update.kind === 'alerts');
    return { platform, hub, session, alertUpdates, socket: () => platform.sockets.last() };
  }

  const publish = (socket: FakeSocket, user: string, alerts: ServerAlert[]) =>
    socket.receive({ t: 'state', topic: `alerts:${user}`, value: { alerts }, at: Date.now() });

  test('the hub subscribes alerts:<user> itself on every open, once', async () => {
    const { platform, socket } = await start();
    socket().accept({ user: 'ann' });
    expect(socket().sentOf('subscribe').filter((frame) => frame.topic.startsWith('alerts:'))).toEqual([{ t: 'subscribe', topic: 'alerts:ann' }]);
    socket().serverClose(CloseCode.abnormal);
    vi.advanceTimersByTime(500);
    platform.sockets.last().accept({ user: 'ann' });
    expect(socket().sentOf('subscribe').filter((frame) => frame.topic.startsWith('alerts:'))).toEqual([{ t: 'subscribe', topic: 'alerts:ann' }]);
  });

  test('the server list reaches alerts() and every view as one AlertsUpdate; an unchanged list is not sent again', async () => {
    const { hub, session, socket, alertUpdates } = await start();
    const other = hub.openSession();
    const otherUpdates = await listenAll(other);
    socket().accept({ user: 'ann' });
    publish(socket(), 'ann', [server('a', 'active', 2), server('b', 'fired', 1)]);
    await waitUntil('the update', () => alertUpdates().length === 1);
    expect(alertUpdates()[0]!.alerts.map((item) => item.id)).toEqual(['a', 'b']);
    expect(await session.alerts()).toEqual(alertUpdates()[0]!.alerts);
    await waitUntil('the other view', () => otherUpdates.some((update) => update.kind === 'alerts'));
    publish(socket(), 'ann', [server('a', 'active', 2), server('b', 'fired', 1)]);
    await hub.idle();
    await waitUntil('a turn', () => true);
    expect(alertUpdates()).toHaveLength(1);
  });

  test('pending, failed and server states merge in the hub, and each change is pushed', async () => {
    const { platform, session, socket, hub, alertUpdates } = await start(createFakePlatform({ online: false }));
    const refused = await session.createAlert(rule(6, 'ZZZ'));
    const created = await session.createAlert(rule(5));
    if (!created.ok || !refused.ok) throw new Error('not queued');
    await waitUntil('two pending', () => alertUpdates().at(-1)?.alerts.length === 2);
    platform.network.set(true);
    socket().accept({ user: 'dev' });
    publish(socket(), 'dev', [server('old', 'paused', 1)]);
    const first = await waitUntil('the first send', () => socket().sentOf('send')[0]);
    socket().receive({ t: 'ack', id: first.id, ok: false, error: { code: 'invalid', message: 'unknown symbol ZZZ' } });
    const second = await waitUntil('the second send', () => socket().sentOf('send')[1]);
    await hub.idle();
    const states = () => alertUpdates().at(-1)!.alerts.map((item) => [item.id, item.state, item.reason]);
    await waitUntil('the failure to show', () => states().some(([, state]) => state === 'failed'));
    expect(states()).toEqual([
      [created.value.id, 'pending sync', undefined],
      [refused.value.id, 'failed', 'unknown symbol ZZZ'],
      ['old', 'paused', undefined],
    ]);

    socket().receive({ t: 'ack', id: second.id, ok: true });
    await waitUntil('the ack to show', () => states()[0]?.[1] === 'active');
    publish(socket(), 'dev', [{ ...server(created.value.id, 'active', Date.now() + 5), rule: rule(5) }, server('old', 'paused', 1)]);
    await hub.idle();
    expect((await session.alerts()).map((item) => [item.id, item.state])).toEqual([
      [created.value.id, 'active'],
      [refused.value.id, 'failed'],
      ['old', 'paused'],
    ]);
  });

  test('an invalid server list is ignored and logged', async () => {
    const { platform, session, socket, hub } = await start();
    socket().accept({ user: 'ann' });
    socket().receive({ t: 'state', topic: 'alerts:ann', value: { alerts: [{ id: 'x' }] }, at: 1 });
    await hub.idle();
    expect(await session.alerts()).toEqual([]);
    expect(platform.log.warnings().map((entry) => entry.message)).toContain('ignored an invalid state value');
  });

  test('after a restart while offline the stored server list shows until the server sends a new one', async () => {
    // A token whose subject says who the user is, readable without the server.
    const token = `${btoa(JSON.stringify({ alg: 'none' }))}.${btoa(JSON.stringify({ sub: 'ann' }))}.`;
    const settings = { serverUrl: 'http://127.0.0.1:8787', token };
    const first = await start(createFakePlatform({ settings }));
    first.socket().accept({ user: 'ann' });
    publish(first.socket(), 'ann', [server('a', 'active', 2)]);
    await waitUntil('the list', () => first.alertUpdates().length === 1);
    await first.hub.idle();
    first.hub.close();

    const second = await start(createFakePlatform({ settings, online: false, indexedDB: first.platform.indexedDB }));
    await waitUntil('the stored list', () => second.alertUpdates().length === 1);
    expect((await second.session.alerts()).map((item) => [item.id, item.state])).toEqual([['a', 'active']]);
  });
});
