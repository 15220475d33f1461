/**
 * Several in-process server nodes on one real Redis, as one service: each node keeps everything in
 * that Redis (`store: 'redis'`) and signs tokens with the same secret, so any client may connect
 * to any node. The Redis and the nodes are closed after the test (`onCleanup`).
 */
import type { ServerInput } from '../../server/server';
import { onCleanup, serve } from './cleanups';
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
