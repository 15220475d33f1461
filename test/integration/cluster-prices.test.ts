/**
 * Price ticks across nodes on one real Redis: a tick published on any node reaches subscribers on
 * every node, every node sees a symbol's ticks in the same order with the same `prev`, a node that
 * starts later has the latest prices, and while Redis is down `/healthz` and price publishes answer
 * 503 with a clear error, connected clients keep their sockets and get ticks again once it is back.
 */
import { describe, expect, test } from 'vitest';
import type { PriceTick } from '../../lib/wire/prices';
import type { StateFrame } from '../../lib/wire/protocol';
import { onCleanup, serve, until, useCleanups } from '../support/cleanups';
import { startTestRedis } from '../support/redis-server';
import { connectAndGreet, type TestClient } from '../support/ws-client';

useCleanups();

async function redis() {
  const server = await startTestRedis();
  onCleanup(() => server.dispose());
  return server;
}

async function client(url: string, ...symbols: string[]): Promise<TestClient> {
  const { client } = await connectAndGreet(url);
  onCleanup(async () => void (await client.close()));
  for (const symbol of symbols) {
    client.send({ t: 'subscribe', topic: `prices:${symbol}` });
    await client.nextOf('subscribed', (frame) => frame.topic === `prices:${symbol}`);
  }
  return client;
}

/** Every tick a client received so far, batches unpacked, in order. */
const ticksOf = (client: TestClient): PriceTick[] =>
  client.received
    .flatMap((frame): StateFrame[] => (frame.t === 'state' ? [frame] : frame.t === 'batch' ? frame.frames.filter((f): f is StateFrame => f.t === 'state') : []))
    .map((frame) => frame.value as PriceTick);

describe('prices across nodes on one Redis', () => {
  test('a tick published on one node reaches subscribers on every node, with the same prev everywhere', async () => {
    const { url } = await redis();
    const [a, b, c] = await Promise.all([serve({ store: 'redis', redisUrl: url }), serve({ store: 'redis', redisUrl: url }), serve({ store: 'redis', redisUrl: url })]);
    const onA = await client(a.url, 'AAPL');
    const onC = await client(c.url, 'AAPL');
    const first = await b.publishPrice('AAPL', 100);
    expect(first).toMatchObject({ symbol: 'AAPL', price: 100, prev: 100 });
    const second = await a.publishPrice('AAPL', 101.25);
    expect(second).toMatchObject({ price: 101.25, prev: 100 });
    for (const watcher of [onA, onC]) {
      await until('both ticks on every node', () => ticksOf(watcher).some((tick) => tick.price === 101.25));
      expect(ticksOf(watcher).at(-1)).toEqual({ symbol: 'AAPL', price: 101.25, prev: 100, at: second.at });
    }
    expect(b.server.latestPrice('AAPL')).toEqual({ symbol: 'AAPL', price: 101.25, prev: 100, at: second.at });
  });

  test('a node started later has every symbol’s latest price for its first subscriber', async () => {
    const { url } = await redis();
    const a = await serve({ store: 'redis', redisUrl: url });
    await a.publishPrice('KO', 61.5);
    const published = await a.publishPrice('KO', 61.75);
    const b = await serve({ store: 'redis', redisUrl: url });
    const onB = await client(b.url, 'KO');
    await until('the snapshot', () => ticksOf(onB).length === 1);
    expect(ticksOf(onB)[0]).toEqual({ symbol: 'KO', price: 61.75, prev: 61.5, at: published.at });
  });

  test('Redis down: 503 from /healthz and price publishes, sockets stay open; back: ticks flow again', async () => {
    const redisServer = await redis();
    const [a, b] = await Promise.all([serve({ store: 'redis', redisUrl: redisServer.url }), serve({ store: 'redis', redisUrl: redisServer.url })]);
    const onB = await client(b.url, 'MSFT');
    expect((await a.request('GET', '/healthz')).status).toBe(200);

    await redisServer.stop();
    const health = await until('/healthz says 503', async () => {
      const answer = await a.request('GET', '/healthz');
      return answer.status === 503 ? answer : undefined;
    });
    expect(health.body).toEqual({ ok: false, error: expect.stringMatching(/Redis is unavailable/) });
    const refused = await a.request('POST', '/api/prices', { body: { symbol: 'MSFT', price: 400 } });
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual({ error: expect.stringMatching(/^Redis at redis:\/\/127\.0\.0\.1:\d+\/? is unavailable: could not publish the price of MSFT \(/) });
    expect(onB.ws.readyState).toBe(onB.ws.OPEN);

    await redisServer.start();
    await until('/healthz says 200 again', async () => (await a.request('GET', '/healthz')).status === 200 && (await b.request('GET', '/healthz')).status === 200);
    await until('a publish goes through again', async () => (await a.request('POST', '/api/prices', { body: { symbol: 'MSFT', price: 401 } })).status === 200);
    await until('the tick reaches the client on the other node', () => ticksOf(onB).some((tick) => tick.price === 401));
    expect(ticksOf(onB).some((tick) => tick.price === 400)).toBe(false);
  });

  test('a node refuses to start when Redis cannot be reached, saying so', async () => {
    const redisServer = await redis();
    await redisServer.stop();
    await expect(serve({ store: 'redis', redisUrl: redisServer.url })).rejects.toThrow(/Redis at redis:\/\/127\.0\.0\.1:\d+\/? could not be reached/);
  });
});
