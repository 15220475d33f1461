/**
 * Price alerts over the wire against a real in-process server (memory store) with the raw test
 * client: alert messages and their acks, applied at most once per message id (also across a
 * reconnect), refused with a reason when invalid, the `alerts:<user>` state topic, `GET
 * /api/alerts`, a tick through the admin API firing an alert into `feed:<user>` (recovered by the
 * cursor when the client was away), expiry by the sweep, and the metrics.
 */
import { afterAll, afterEach, beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { MAX_ALERTS_PER_USER, type AlertRule, type AlertsState, type ServerAlert } from '../../lib/wire/alerts';
import { newMessageId } from '../../lib/wire/ids';
import type { NotificationData } from '../../lib/wire/notifications';
import type { FrameOf, ServerFrame } from '../../lib/wire/protocol';
import { startTestServer, type TestServer } from '../support/server';
import { connectAndGreet, type TestClient } from '../support/ws-client';

const above = (price: number, extra: Partial<AlertRule> = {}) => ({ symbol: 'AAPL', condition: 'above', price, ...extra });

/** The server's clock: the wall clock, which a test can move on (creation times have millisecond resolution). */
let skewMs = 0;
let server: TestServer;
let clients: TestClient[] = [];
beforeAll(async () => {
  server = await startTestServer({ alertSweepMs: 20, now: () => Date.now() + skewMs });
  await server.publishPrice('AAPL', 200);
  await server.publishPrice('MSFT', 400);
});
afterAll(() => server.close());
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
});

async function greet(user = 'dev'): Promise<TestClient> {
  const { client } = await connectAndGreet(server.url, user === 'dev' ? {} : { token: await server.mintToken(user) });
  clients.push(client);
  return client;
}

/** The next `alerts:<user>` value whose alerts satisfy `predicate`. */
async function nextAlerts(client: TestClient, user: string, predicate: (alerts: readonly ServerAlert[]) => boolean = () => true): Promise<readonly ServerAlert[]> {
  const frame = await client.nextOf('state', (f) => f.topic === `alerts:${user}` && predicate((f.value as AlertsState).alerts));
  return (frame.value as AlertsState).alerts;
}

async function create(client: TestClient, rule: unknown, alertId: string = newMessageId()): Promise<FrameOf<ServerFrame, 'ack'> & { alertId: string }> {
  const ack = await client.message('alert.create', { alertId, rule });
  return { ...ack, alertId };
}

const messages = (kind: string, outcome: string) => server.metric('switchboard_client_messages_total', { kind, outcome });

describe('creating, and the ways to see an alert', () => {
  test('create via send: ack ok with the alert, alerts:<user> snapshot then the update, GET /api/alerts lists it', async () => {
    const client = await greet('carol');
    expect(await client.subscribe('alerts:carol')).toEqual({ t: 'subscribed', topic: 'alerts:carol', mode: 'state' });
    expect(await nextAlerts(client, 'carol')).toEqual([]);

    const ack = await create(client, above(210, { note: 'take profit' }));
    const alert: ServerAlert = {
      id: ack.alertId,
      rule: { symbol: 'AAPL', condition: 'above', price: 210, repeat: 'once', note: 'take profit' },
      status: 'active',
      createdAt: expect.any(Number) as number,
      fireCount: 0,
    };
    expect(ack).toMatchObject({ t: 'ack', ok: true, result: { alert } });
    expect(await nextAlerts(client, 'carol')).toEqual([alert]);
    expect(await server.alerts('carol')).toEqual([alert]);

    // A second subscriber (another tab's connection) gets the snapshot as it is now.
    const other = await greet('carol');
    await other.subscribe('alerts:carol');
    expect(await nextAlerts(other, 'carol')).toEqual([alert]);
  });

  test('alerts are listed newest first, per user', async () => {
    const client = await greet('dora');
    const first = await create(client, above(220));
    skewMs += 1; // the second is created at least a millisecond later: newest by creation time
    const second = await create(client, { symbol: 'MSFT', condition: 'below', price: 300 });
    expect((await server.alerts('dora')).map((a) => a.id)).toEqual([second.alertId, first.alertId]);
    expect(await server.alerts('nobody')).toEqual([]);
  });

  test('GET /api/alerts needs the admin token and a valid user', async () => {
    expect((await server.request('GET', '/api/alerts?user=dev', { token: null })).status).toBe(401);
    const bad = await server.request('GET', '/api/alerts?user=no%20spaces');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: expect.stringContaining('Invalid user') });
    expect((await server.request('GET', '/api/alerts')).status).toBe(400);
    expect(await server.request('GET', '/api/alerts?user=dev')).toMatchObject({ status: 200, body: { user: 'dev', alerts: expect.any(Array) } });
  });

  test("another user's alerts topic is forbidden; the connection stays", async () => {
    const client = await greet('erin');
    expect(await client.subscribe('alerts:dev')).toMatchObject({ t: 'error', code: 'forbidden', topic: 'alerts:dev' });
    expect(await client.subscribe('alerts:erin')).toMatchObject({ t: 'subscribed', mode: 'state' });
  });
});

describe('at most once per message id', () => {
  test('the same id twice gets the same ack and applies once', async () => {
    const client = await greet('fred');
    const before = await messages('alert.create', 'duplicate');
    const id = newMessageId();
    const body = { alertId: newMessageId(), rule: above(230) };
    const first = await client.message('alert.create', body, id);
    const again = await client.message('alert.create', body, id);
    expect(first.ok).toBe(true);
    expect(again).toEqual(first);
    expect(await server.alerts('fred')).toHaveLength(1);
    expect(await messages('alert.create', 'duplicate')).toBe(before + 1);
  });

  test('across a reconnect: a repeated id is answered from the record, even with another body', async () => {
    const first = await greet('gina');
    const id = newMessageId();
    const ack = await first.message('alert.create', { alertId: newMessageId(), rule: above(240) }, id);
    await first.close();
    const second = await greet('gina');
    const again = await second.message('alert.create', { alertId: newMessageId(), rule: above(250) }, id);
    expect(again).toEqual(ack);
    expect((await server.alerts('gina')).map((a) => a.rule.price)).toEqual([240]);
  });

  test('a refusal is not recorded: the same id is decided afresh, and applies once when it can', async () => {
    const client = await greet('hank');
    const id = newMessageId();
    const body = { alertId: newMessageId(), rule: above(250, { symbol: 'NOPE' }) };
    expect(await client.message('alert.create', body, id)).toMatchObject({ ok: false, error: { code: 'invalid', message: expect.stringMatching(/Unknown symbol NOPE/) } });
    await server.publishPrice('NOPE', 240);
    const applied = await client.message('alert.create', body, id);
    expect(applied).toMatchObject({ ok: true });
    expect(await client.message('alert.create', body, id)).toEqual(applied);
    expect(await server.alerts('hank')).toHaveLength(1);
  });

  test('ids are per user: the same id from another user is another message', async () => {
    const id = newMessageId();
    const ivan = await greet('ivan');
    const judy = await greet('judy');
    expect((await ivan.message('alert.create', { alertId: newMessageId(), rule: above(205) }, id)).ok).toBe(true);
    expect((await judy.message('alert.create', { alertId: newMessageId(), rule: above(206) }, id)).ok).toBe(true);
    expect(await server.alerts('judy')).toHaveLength(1);
  });

  test('creating an alert id that exists under another message id is invalid', async () => {
    const client = await greet('kate');
    const alertId = newMessageId();
    expect((await create(client, above(210), alertId)).ok).toBe(true);
    expect(await create(client, above(215), alertId)).toMatchObject({ ok: false, error: { code: 'invalid', message: `Alert ${alertId} already exists` } });
  });
});

describe('invalid messages are refused with a reason, store nothing, and keep the socket', () => {
  test.each([
    ['an unknown symbol', above(210, { symbol: 'ZZZZ' }), /Unknown symbol ZZZZ/],
    ['NaN as the price (msgpack carries NaN)', above(Number.NaN), /Price must be a number/],
    ['Infinity as the price', above(Number.POSITIVE_INFINITY), /finite/],
    ['a negative window', { symbol: 'AAPL', condition: 'percent-move', percent: 5, windowMinutes: -5 }, /Window must be at least 1 minute/],
    ['a percent move without its window', { symbol: 'AAPL', condition: 'percent-move', percent: 5 }, /Percent and window are required/],
    ['a threshold beyond the price limit', above(1e13), /absurdly large/],
    ['a threshold over 1000× the current price', above(200_001), /more than 1000× away from AAPL's current price 200/],
    ['a threshold under 1/1000 of the current price', { symbol: 'AAPL', condition: 'below', price: 0.19 }, /more than 1000× away/],
    ['a zero price', above(0), /Price must be above 0/],
    ['a missing condition', { symbol: 'AAPL', price: 210 }, /condition is missing/],
    ['a missing symbol', { condition: 'above', price: 210 }, /symbol is missing/],
    ['a missing price', { symbol: 'AAPL', condition: 'above' }, /Price is required/],
    ['an unknown condition', { symbol: 'AAPL', condition: 'sideways', price: 210 }, /Condition must be/],
    ['a recurring rule without a cooldown', above(210, { repeat: 'recurring' }), /needs a cooldown/],
    ['an expiry in the past', above(210, { expiresAt: 1000 }), /Expiry must be in the future/],
    ['a rule that is not an object', 'AAPL above 210', /rule must be an object/],
    ['no rule at all', undefined, /rule is missing/],
  ])('%s', async (_name, rule, reason) => {
    const client = await greet('lucy');
    const ack = await client.message('alert.create', { alertId: newMessageId(), ...(rule === undefined ? {} : { rule }) });
    expect(ack).toMatchObject({ ok: false, error: { code: 'invalid', message: expect.stringMatching(reason) } });
    expect(await server.alerts('lucy')).toEqual([]);
    client.send({ t: 'ping', at: 1 });
    expect(await client.nextOf('pong')).toMatchObject({ at: 1 });
  });

  test.each([
    ['a body that is not an object', 'alert.create', 42, /needs a body object/],
    ['a missing alertId', 'alert.create', { rule: above(210) }, /alertId is missing/],
    ['an alertId that is not a UUID', 'alert.create', { alertId: 'my-alert', rule: above(210) }, /alertId must be a UUID/],
    ['a pause without paused', 'alert.pause', { alertId: newMessageId() }, /paused must be true or false/],
    ['an unknown alert to delete', 'alert.delete', { alertId: newMessageId() }, /Unknown alert/],
    ['an unknown alert to update', 'alert.update', { alertId: newMessageId(), rule: above(210) }, /Unknown alert/],
    ['an unknown kind', 'alert.snooze', { alertId: newMessageId() }, /Unknown message kind/],
  ])('%s', async (_name, kind, body, reason) => {
    const client = await greet('lucy');
    expect(await client.message(kind, body)).toMatchObject({ ok: false, error: { code: 'invalid', message: expect.stringMatching(reason) } });
  });

  test('a message id that is not a UUID is refused (it could not be deduplicated)', async () => {
    const client = await greet('lucy');
    expect(await client.message('alert.create', { alertId: newMessageId(), rule: above(210) }, 'msg-1')).toMatchObject({
      id: 'msg-1',
      ok: false,
      error: { code: 'invalid', message: expect.stringMatching(/UUID/) },
    });
    expect(await server.alerts('lucy')).toEqual([]);
  });

  test(`at most ${MAX_ALERTS_PER_USER} alerts per user`, async () => {
    // All creates go at once here (the hub sends one at a time): above what the send rate lets through.
    const roomy = await startTestServer({ limits: { sendRate: { burst: 1000, perSecond: 10 } } });
    try {
      await roomy.publishPrice('AAPL', 200);
      const { client } = await connectAndGreet(roomy.url);
      clients.push(client);
      const acks = await Promise.all(Array.from({ length: MAX_ALERTS_PER_USER }, () => create(client, above(210))));
      expect(acks.filter((a) => !a.ok)).toEqual([]);
      expect(await create(client, above(300))).toMatchObject({ ok: false, error: { code: 'invalid', message: expect.stringMatching(new RegExp(`At most ${MAX_ALERTS_PER_USER} alerts`)) } });
      expect(await roomy.alerts('dev')).toHaveLength(MAX_ALERTS_PER_USER);
    } finally {
      await roomy.close();
    }
  });

  test('an alert that would make alerts:<user> outgrow one frame is refused; the value still arrives whole', async () => {
    // At the default 64 KiB even 100 alerts with the longest notes fit; a small frame limit makes
    // the guard reachable.
    const tight = await startTestServer({ maxFrameBytes: 16 * 1024 });
    onTestFinished(() => tight.close());
    await tight.publishPrice('AAPL', 200);
    const { client } = await connectAndGreet(tight.url, { token: await tight.mintToken('vera') });
    clients.push(client);
    const note = 'n'.repeat(200);
    let refusal: FrameOf<ServerFrame, 'ack'> | undefined;
    for (let i = 0; i < MAX_ALERTS_PER_USER && !refusal; i++) {
      const ack = await create(client, above(210, { note }));
      if (!ack.ok) refusal = ack;
    }
    expect(refusal).toMatchObject({ ok: false, error: { code: 'invalid', message: expect.stringMatching(/Too many alerts to send in one update/) } });
    const held = await tight.alerts('vera');
    expect(held.length).toBeGreaterThan(10);
    await client.subscribe('alerts:vera');
    expect(await nextAlerts(client, 'vera')).toHaveLength(held.length);
  });

  test("another user's alert is as unknown as a missing one", async () => {
    const owner = await greet('mike');
    const { alertId } = await create(owner, above(210));
    const thief = await greet('nick');
    expect(await thief.message('alert.delete', { alertId })).toMatchObject({ ok: false, error: { message: `Unknown alert ${alertId}` } });
    expect(await thief.message('alert.pause', { alertId, paused: true })).toMatchObject({ ok: false, error: { code: 'invalid' } });
    expect(await server.alerts('mike')).toHaveLength(1);
  });
});

describe('update, pause, delete', () => {
  test('each applies, answers with the alert and republishes alerts:<user>', async () => {
    const client = await greet('olga');
    await client.subscribe('alerts:olga');
    await nextAlerts(client, 'olga');
    const { alertId } = await create(client, above(210));
    await nextAlerts(client, 'olga', (a) => a.length === 1);

    expect(await client.message('alert.pause', { alertId, paused: true })).toMatchObject({ ok: true, result: { alert: { id: alertId, status: 'paused' } } });
    expect(await nextAlerts(client, 'olga')).toMatchObject([{ status: 'paused' }]);
    expect(await client.message('alert.update', { alertId, rule: above(220) })).toMatchObject({ ok: true, result: { alert: { status: 'paused', rule: { price: 220 } } } });
    expect(await nextAlerts(client, 'olga')).toMatchObject([{ status: 'paused', rule: { price: 220 } }]);
    expect(await client.message('alert.pause', { alertId, paused: false })).toMatchObject({ ok: true, result: { alert: { status: 'active' } } });
    expect(await nextAlerts(client, 'olga')).toMatchObject([{ status: 'active' }]);
    expect(await client.message('alert.delete', { alertId })).toMatchObject({ ok: true, result: { alertId, deleted: true } });
    expect(await nextAlerts(client, 'olga')).toEqual([]);
    expect(await server.alerts('olga')).toEqual([]);
  });

  test('a paused alert does not fire; resumed, it does', async () => {
    const client = await greet('pete');
    await server.publishPrice('PAUS', 5);
    const created = await create(client, { symbol: 'PAUS', condition: 'above', price: 10 });
    await client.message('alert.pause', { alertId: created.alertId, paused: true });
    await server.publishPrice('PAUS', 11);
    expect((await server.alerts('pete')).find((a) => a.id === created.alertId)).toMatchObject({ status: 'paused', fireCount: 0 });
    await client.message('alert.pause', { alertId: created.alertId, paused: false });
    await server.publishPrice('PAUS', 12);
    expect((await server.alerts('pete')).find((a) => a.id === created.alertId)).toMatchObject({ status: 'fired', firedPrice: 12 });
  });
});

describe('firing', () => {
  test('a price through POST /api/prices that crosses fires: a feed event with the alert, status fired, alerts:<user> updated', async () => {
    await server.publishPrice('FIRE', 100);
    const client = await greet('quinn');
    const subscribed = await client.subscribe('feed:quinn');
    expect(subscribed).toMatchObject({ t: 'subscribed', recovery: 'fresh' });
    await client.subscribe('alerts:quinn');
    await nextAlerts(client, 'quinn');
    const rule = { symbol: 'FIRE', condition: 'crossing', price: 105, repeat: 'once' } as const;
    const { alertId } = await create(client, rule);
    await nextAlerts(client, 'quinn', (a) => a.length === 1);
    const firedBefore = await server.metric('switchboard_alerts_fired_total');

    await server.publishPrice('FIRE', 101); // primes the rule: its first tick has no previous price
    const tick = await server.publishPrice('FIRE', 106.5);

    const event = await client.untilEvent('feed:quinn', 1);
    const data = event.data as NotificationData;
    expect(data).toEqual({
      title: 'FIRE crossing 105',
      body: 'FIRE hit 106.5',
      level: 'high',
      alert: { alertId, rule, price: 106.5, firedAt: tick.at },
    });
    expect(await nextAlerts(client, 'quinn', (a) => a[0]?.status === 'fired')).toMatchObject([{ id: alertId, firedAt: tick.at, firedPrice: 106.5, fireCount: 1 }]);
    expect(await server.alerts('quinn')).toMatchObject([{ id: alertId, status: 'fired', firedPrice: 106.5 }]);
    expect(await server.metric('switchboard_alerts_fired_total')).toBe(firedBefore + 1);

    await server.publishPrice('FIRE', 104);
    await server.publishPrice('FIRE', 107);
    await server.publishNotification('quinn', { title: 'marker', body: 'after' });
    await client.untilEvent('feed:quinn', 2);
    expect(client.events('feed:quinn').map((e) => (e.data as NotificationData).title)).toEqual(['FIRE crossing 105', 'marker']);
  });

  test('an alert that fired while the client was away is recovered by its feed cursor', async () => {
    await server.publishPrice('AWAY', 50);
    const first = await greet('rita');
    const subscribed = await first.subscribe('feed:rita');
    if (subscribed.t !== 'subscribed') throw new Error('not subscribed');
    const cursor = subscribed.position!;
    const { alertId } = await create(first, { symbol: 'AWAY', condition: 'below', price: 45, note: 'buy the dip' });
    await first.close();

    await server.publishPrice('AWAY', 44.5);
    await expect.poll(async () => (await server.alerts('rita'))[0]?.status, { timeout: 10_000 }).toBe('fired');

    const back = await greet('rita');
    expect(await back.subscribe('feed:rita', { since: cursor })).toMatchObject({ recovery: 'recovered', from: cursor.seq + 1 });
    const event = await back.untilEvent('feed:rita', cursor.seq + 1);
    expect(event.data).toMatchObject({ title: 'AWAY below 45', body: 'AWAY hit 44.5. buy the dip', level: 'high', alert: { alertId, price: 44.5 } });
  });

  test('a recurring alert fires again only after its cooldown', async () => {
    await server.publishPrice('RECU', 10);
    const client = await greet('sam');
    await create(client, { symbol: 'RECU', condition: 'above', price: 11, repeat: 'recurring', cooldownMinutes: 1 });
    await server.publishPrice('RECU', 12);
    await server.publishPrice('RECU', 13);
    expect(await server.alerts('sam')).toMatchObject([{ status: 'active', fireCount: 1, firedPrice: 12 }]);
  });

  test('an alert expires by the sweep, without a tick, and alerts:<user> says so', async () => {
    const client = await greet('tess');
    await client.subscribe('alerts:tess');
    await nextAlerts(client, 'tess');
    const { alertId } = await create(client, above(300, { expiresAt: Date.now() + 150 }));
    expect(await nextAlerts(client, 'tess', (a) => a[0]?.status === 'expired')).toMatchObject([{ id: alertId, status: 'expired' }]);
    await server.publishPrice('AAPL', 301);
    expect(await server.alerts('tess')).toMatchObject([{ status: 'expired', fireCount: 0 }]);
  });
});

test('metrics count messages by kind and outcome, and the engine’s evaluations', async () => {
  const client = await greet('uma');
  const applied = await messages('alert.create', 'applied');
  const refused = await messages('alert.create', 'refused');
  const ticks = await server.metric('switchboard_alert_ticks_evaluated_total');
  const examined = await server.metric('switchboard_alert_rules_examined_total');
  // A crossing rule's first tick primes it: the one AAPL rule the next tick looks at.
  await create(client, { symbol: 'AAPL', condition: 'crossing', price: 260 });
  await create(client, above(Number.NaN));
  await server.publishPrice('AAPL', 201);
  expect(await messages('alert.create', 'applied')).toBe(applied + 1);
  expect(await messages('alert.create', 'refused')).toBe(refused + 1);
  expect(await server.metric('switchboard_alert_ticks_evaluated_total')).toBe(ticks + 1);
  expect(await server.metric('switchboard_alerts_held')).toBeGreaterThan(0);
  expect(await server.metric('switchboard_alert_rules_examined_total')).toBe(examined + 1);
});
