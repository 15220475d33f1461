/**
 * One Redis pub/sub channel heard by this node, on a connection of its own (a subscribed
 * connection can do nothing else). Pub/sub keeps no messages: whatever was published while the
 * connection was down is gone, so every time the connection is back (node-redis subscribes again
 * before it reports ready) `onResync` runs, and the owner reads what the channel would have told it
 * from where the state is kept.
 */
import { closeRedis, connectRedis, type Redis, type RedisLogger } from './client';

export interface ChannelOptions {
  readonly url: string;
  readonly channel: string;
  /** What the channel is for, in log lines. */
  readonly role: string;
  readonly logger: RedisLogger;
  readonly onMessage: (message: string) => void;
  /** The connection is back after an outage: catch up on what may have been missed. */
  readonly onResync: () => Promise<void>;
}

export interface Channel {
  /** Whether the subscribed connection is up right now. */
  available(): boolean;
  close(): Promise<void>;
}

export async function subscribeChannel(options: ChannelOptions): Promise<Channel> {
  const { logger } = options;
  const subscriber: Redis = await connectRedis({ url: options.url, logger }, options.role);
  let subscribed = false;
  subscriber.on('ready', () => {
    if (!subscribed) return;
    options.onResync().catch((error: unknown) => logger.warn({ err: error, role: options.role }, 'could not catch up after Redis came back'));
  });
  try {
    await subscriber.subscribe(options.channel, (message) => {
      try {
        options.onMessage(message);
      } catch (error) {
        logger.warn({ err: error, role: options.role }, 'a Redis channel message could not be handled');
      }
    });
  } catch (error) {
    await closeRedis(subscriber);
    throw error;
  }
  subscribed = true;
  return {
    available: () => subscriber.isReady,
    close: () => closeRedis(subscriber),
  };
}
