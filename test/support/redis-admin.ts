/**
 * One-off commands a test sends to its own Redis as an operator would with `redis-cli`: empty it
 * between tests (`FLUSHALL`), cut the server's pub/sub connections (`CLIENT KILL TYPE pubsub`),
 * look at a key. Each call opens a connection, sends the command, and closes it.
 */
import { createClient } from '@redis/client';

export async function redisCommand(url: string, args: readonly string[]): Promise<unknown> {
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  try {
    return await client.sendCommand([...args]);
  } finally {
    client.destroy();
  }
}

export const flushAll = (url: string): Promise<unknown> => redisCommand(url, ['FLUSHALL']);

/** Closes every pub/sub connection the server has; node-redis reconnects and subscribes again. Resolves with how many. */
export const killSubscribers = async (url: string): Promise<number> => Number(await redisCommand(url, ['CLIENT', 'KILL', 'TYPE', 'pubsub']));
