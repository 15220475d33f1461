/**
 * Three nodes on one real Redis behave as one server: stream events published on any node reach
 * subscribers on every node in order and once, replay and live joined; a client message applied
 * on one node is seen by all, and the same message id sent to two nodes is applied once; a price
 * alert fires exactly once however many nodes run, and again exactly once after the node that
 * evaluated alerts is gone; a Redis restart without persistence gives `epoch changed`.
 */
import { describe, expect, test } from 'vitest';
import { MAX_ALERTS_PER_USER } from '../../lib/wire/alerts';
import { newMessageId } from '../../lib/wire/ids';
import { topics } from '../../lib/wire/topics';
import { until, useCleanups } from '../support/cleanups';
import { clientOf, startNodes, testRedis, watchAlerts } from '../support/cluster';

useCleanups();

const seqsOf = (events: readonly { seq: number }[]) => events.map((event) => event.seq);

describe('three nodes on one Redis', () => {
  test('news published on every node reaches a client on each node, in order, once', async () => {
    const redis = await testRedis();
    const nodes = await startNodes(redis, 3);
    const clients = await Promise.all(nodes.map((node) => clientOf(node)));
    for (const client of clients) expect(await client.subscribe('news')).toMatchObject({ t: 'subscribed', recovery: 'fresh' });
    const published = [];
    for (let i = 0; i < 9; i++) published.push(await nodes[i % 3]!.publishNews({ title: `n${i}`, body: '' }));
    expect(seqsOf(published)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const client of clients) {
      await client.untilEvent('news', 9);
      expect(seqsOf(client.events('news'))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
  });

  test('a client that moves to another node with its cursor gets recovered and exactly what it missed', async () => {
    const redis = await testRedis();
    const [a, b, c] = await startNodes(redis, 3);
    const first = await clientOf(a!);
    await first.subscribe('feed:dev');
    await b!.publishNotification('dev', { title: 'one', body: '' });
    const seen = await first.untilEvent('feed:dev', 1);
    await first.close();
    for (const title of ['two', 'three', 'four']) await c!.publishNotification('dev', { title, body: '' });
    const moved = await clientOf(c!);
    const answer = await moved.subscribe('feed:dev', { since: { epoch: seen.epoch, seq: 1 } });
    expect(answer).toMatchObject({ recovery: 'recovered', position: { epoch: seen.epoch, seq: 4 } });
    await moved.untilEvent('feed:dev', 4);
    await a!.publishNotification('dev', { title: 'five', body: '' });
    await moved.untilEvent('feed:dev', 5);
    expect(seqsOf(moved.events('feed:dev'))).toEqual([2, 3, 4, 5]);
  });

  test('an alert created on one node is listed and sent on every node; the same message id on two nodes is applied once', async () => {
    const redis = await testRedis();
    const [a, b, c] = await startNodes(redis, 3);
    await a!.publishPrice('AAPL', 200);
    const watcher = await clientOf(c!);
    await watcher.subscribe(topics.alerts('dev'));
    const onA = await clientOf(a!);
    const onB = await clientOf(b!);
    const id = newMessageId();
    const body = { alertId: newMessageId(), rule: { symbol: 'AAPL', condition: 'above', price: 250, repeat: 'once' } };
    // A hub that reconnected elsewhere mid-flush sends the same id again on the other node.
    const [first, second] = await Promise.all([onA.message('alert.create', body, id), onB.message('alert.create', body, id)]);
    expect(first).toMatchObject({ ok: true });
    expect(second).toEqual({ ...first });
    const outcomes = await Promise.all([a!, b!].map(async (node) => ({
      applied: await node.metric('switchboard_client_messages_total', { outcome: 'applied' }),
      duplicate: await node.metric('switchboard_client_messages_total', { outcome: 'duplicate' }),
    })));
    expect(outcomes.reduce((sum, o) => sum + o.applied, 0)).toBe(1);
    expect(outcomes.reduce((sum, o) => sum + o.duplicate, 0)).toBe(1);
    for (const node of [a!, b!, c!]) await until('every node lists the alert', async () => (await node.alerts('dev')).length === 1);
    await watcher.until((f) => f.t === 'state' && (f.value as { alerts: unknown[] }).alerts.length === 1);
  });

  test('one user creating alerts on two nodes at once: the per-user limit holds across nodes', async () => {
    const redis = await testRedis();
    const [a, b] = await startNodes(redis, 2);
    await a!.publishPrice('AAPL', 200);
    const [onA, onB] = [await clientOf(a!), await clientOf(b!)];
    const create = (client: typeof onA, i: number) =>
      client.message('alert.create', { alertId: newMessageId(), rule: { symbol: 'AAPL', condition: 'above', price: 210 + i, repeat: 'once' } });
    const acks = await Promise.all(Array.from({ length: 60 }, (_, i) => [create(onA, i), create(onB, 100 + i)]).flat());
    expect(acks.filter((ack) => ack.ok)).toHaveLength(MAX_ALERTS_PER_USER);
    for (const ack of acks.filter((one) => !one.ok)) expect(ack).toMatchObject({ ok: false, error: { code: 'invalid' } });
    for (const node of [a!, b!]) await until('both nodes list the limit', async () => (await node.alerts('dev')).length === MAX_ALERTS_PER_USER);
  });

  test('an alert fires exactly once with three nodes, and exactly once after the evaluating node is gone', async () => {
    const redis = await testRedis();
    const [a, b, c] = await startNodes(redis, 3);
    await b!.publishPrice('KO', 60);
    const client = await clientOf(c!);
    await client.subscribe('feed:dev');
    let gone: unknown = null;
    const { create, tickUntilFired } = watchAlerts(client, 'feed:dev', 'KO', () => [a!, b!, c!].filter((node) => node !== gone));
    await create(61);
    await tickUntilFired(61.5, 1);
    await until('the alert is fired on every node', async () => {
      const lists = await Promise.all([a!, b!, c!].map((node) => node.alerts('dev')));
      return lists.every((list) => list.length === 1 && list[0]!.status === 'fired');
    });

    // The node evaluating alerts (the first one started) goes away; another takes over.
    await a!.close();
    gone = a;
    await create(63);
    await tickUntilFired(63.5, 2);
    await until('the second alert is fired on both nodes', async () => {
      const lists = await Promise.all([b!, c!].map((node) => node.alerts('dev')));
      return lists.every((list) => list.filter((alert) => alert.status === 'fired').length === 2);
    });
    for (const node of [b!, c!]) await node.publishPrice('KO', 65);
    await until('both nodes applied the last tick', () => [b!, c!].every((node) => node.server.latestPrice('KO')?.price === 65));
    const feed = await b!.server.eventLog.newest('feed:dev', 10);
    expect(feed.map((event) => event.seq)).toEqual([1, 2]);
    expect(client.events('feed:dev').map((event) => [event.seq, (event.data as { title: string }).title])).toEqual([
      [1, expect.stringMatching(/KO above 61/)],
      [2, expect.stringMatching(/KO above 63/)],
    ]);
  });

  test('a Redis restart without persistence gives epoch changed to a client coming back with its cursor', async () => {
    const redis = await testRedis();
    const [a, b] = await startNodes(redis, 2);
    const client = await clientOf(a!);
    await client.subscribe('news');
    await b!.publishNews({ title: 'before', body: '' });
    const seen = await client.untilEvent('news', 1);
    await client.close();
    await redis.kill();
    await redis.start();
    await until('both nodes are healthy again', async () => (await a!.request('GET', '/healthz')).status === 200 && (await b!.request('GET', '/healthz')).status === 200);
    await until('a publish goes through', async () => (await b!.request('POST', '/api/news', { body: { title: 'after', body: '' } })).status === 200);
    const back = await clientOf(a!);
    const answer = await back.subscribe('news', { since: { epoch: seen.epoch, seq: 1 } });
    expect(answer).toMatchObject({ t: 'subscribed', recovery: 'epoch changed' });
    expect(answer.t === 'subscribed' && answer.position?.epoch).not.toBe(seen.epoch);
  });
});
