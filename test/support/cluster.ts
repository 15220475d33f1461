/**
 * Several in-process server nodes on one real Redis, as one service: each node keeps everything in
 * that Redis (`store: 'redis'`) and signs tokens with the same secret, so any client may connect
 * to any node. The Redis and the nodes are closed after the test (`onCleanup`).
 */
import type { ServerInput } from '../../server/server';
import { newMessageId } from '../../lib/wire/ids';
import { onCleanup, serve, until } from './cleanups';
import { startTestRedis, type TestRedis, type TestRedisOptions } from './redis-server';
import type { TestServer } from './server';
import { connectAndGreet, type TestClient } from './ws-client';

export async function testRedis(options: TestRedisOptions = {}): Promise<TestRedis> {
  const redis = await startTestRedis(options);
  onCleanup(() => redis.dispose());
  return redis;
}

/** `count` nodes on `redis`, started one after the other (the first one takes the alert lease). */
export async function startNodes(redis: TestRedis, count: number, options: ServerInput = {}): Promise<TestServer[]> {
  const nodes: TestServer[] = [];
  for (let i = 0; i < count; i++) nodes.push(await serve({ store: 'redis', redisUrl: redis.url, ...options }));
  return nodes;
}

/** A greeted raw client of `node`, closed after the test. */
export async function clientOf(node: Pick<TestServer, 'url'>, token?: string): Promise<TestClient> {
  const { client } = await connectAndGreet(node.url, token === undefined ? {} : { token });
  onCleanup(async () => void (await client.close()));
  return client;
}

/** A user's feed watched on one node, with its price alerts on `symbol` made through it. */
export interface AlertWatch {
  /** Creates a once-only `above price` alert through the client's node; throws unless acknowledged. */
  create(price: number): Promise<void>;
  /**
   * Publishes ticks near `price` through the nodes `live()` gives, in turn, until the feed has the
   * event `seq`: the node evaluating alerts starts watching a rule made on another node once the
   * change has reached it, a moment later.
   */
  tickUntilFired(price: number, seq: number): Promise<void>;
}

export function watchAlerts(client: TestClient, feed: string, symbol: string, live: () => readonly Pick<TestServer, 'publishPrice'>[]): AlertWatch {
  return {
    async create(price) {
      const ack = await client.message('alert.create', { alertId: newMessageId(), rule: { symbol, condition: 'above', price, repeat: 'once' } });
      if (!ack.ok) throw new Error(`The alert above ${price} was refused: ${ack.error.message}`);
    },
    async tickUntilFired(price, seq) {
      let turn = 0;
      await until(`feed event ${seq}`, async () => {
        const nodes = live();
        await nodes[turn++ % nodes.length]!.publishPrice(symbol, price + (turn % 5) / 10);
        return client.events(feed).some((event) => event.seq === seq);
      });
    },
  };
}
