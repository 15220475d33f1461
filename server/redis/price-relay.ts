/**
 * Price ticks across nodes. With Redis, a node does not apply a tick it was given: it hands it to
 * one Lua script that reads the symbol's previous price, stores the new latest price and publishes
 * the tick on one channel, atomically. Every node (the one that published included) applies ticks
 * as that channel delivers them, so all nodes see every symbol's ticks in the same order, with the
 * same `prev`, and conflation downstream stays per connection as before.
 *
 * Numbers cross Lua as the strings JavaScript wrote (`String(price)` reads back exactly), never as
 * Lua numbers, whose `tostring` keeps 14 digits. Ticks published while this node's subscriber was
 * reconnecting are not replayed (a price is state: only the latest matters): when it is back, every
 * symbol whose latest price in Redis differs from this node's is applied once.
 */
import type { PriceTick } from '../../lib/wire/prices';
import { subscribeChannel, type Channel } from './channel';
import { closeRedis, connectRedis, withRedis, type RedisConnectionOptions, type RedisLogger } from './client';

/** KEYS[1] latest-price hash; ARGV symbol, price, at, channel. Returns the previous price (or the new one). */
const PUBLISH_SCRIPT = `
local old = redis.call('HGET', KEYS[1], ARGV[1])
local prev = ARGV[2]
if old then prev = string.match(old, '^(%S+)') end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. prev .. ' ' .. ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. prev .. ' ' .. ARGV[3])
return prev
`;

export interface PriceRelay {
  /**
   * Subscribes to every node's ticks, `onTick` called with each in the channel's order from now on;
   * resolves with every symbol's latest tick, to start from.
   */
  start(onTick: (tick: PriceTick) => void): Promise<PriceTick[]>;
  /** Sends a validated tick through Redis to every node; resolves with it as every node applies it. */
  publish(symbol: string, price: number, at: number): Promise<PriceTick>;
  /** Every symbol's latest tick as Redis holds it. */
  latest(): Promise<PriceTick[]>;
  /** Whether both connections are up right now. */
  available(): boolean;
  close(): Promise<void>;
}

export interface PriceRelayOptions extends RedisConnectionOptions {
  /** Key and channel prefix, so several services can share one Redis. Default `switchboard:`. */
  readonly keyPrefix?: string;
  readonly logger: RedisLogger;
}

/** `symbol price prev at`, as the script writes it; null when it is not that. */
function parseTick(symbol: string, text: string): Omit<PriceTick, 'symbol'> | null {
  const [price, prev, at] = text.split(' ').map(Number);
  return Number.isFinite(price) && Number.isFinite(prev) && Number.isFinite(at) ? { price: price!, prev: prev!, at: at! } : null;
}

export async function openRedisPriceRelay(options: PriceRelayOptions): Promise<PriceRelay> {
  const prefix = options.keyPrefix ?? 'switchboard:';
  const hash = `${prefix}prices`;
  const channel = `${prefix}prices`;
  const { logger } = options;
  const commands = await connectRedis(options, 'prices');
  let channelOn: Channel | undefined;
  /** The latest tick applied per symbol, to catch up after the subscriber was away. */
  const applied = new Map<string, PriceTick>();

  let onTick: (tick: PriceTick) => void = () => {};
  const apply = (tick: PriceTick): void => {
    applied.set(tick.symbol, tick);
    onTick(tick);
  };

  async function latest(): Promise<PriceTick[]> {
    const all = await withRedis(options.url, 'read the latest prices', () => commands.hGetAll(hash));
    return Object.entries(all).flatMap(([symbol, text]) => {
      const tick = parseTick(symbol, text);
      return tick ? [{ symbol, ...tick }] : [];
    });
  }

  async function catchUp(): Promise<void> {
    for (const tick of await latest()) {
      const known = applied.get(tick.symbol);
      if (!known || known.price !== tick.price || known.at !== tick.at) apply(tick);
    }
  }

  async function start(listener: (tick: PriceTick) => void): Promise<PriceTick[]> {
    if (channelOn) throw new Error('The price relay was started already');
    onTick = listener;
    channelOn = await subscribeChannel({
      url: options.url,
      channel,
      role: 'price-ticks',
      logger,
      onMessage(message) {
        const space = message.indexOf(' ');
        const symbol = message.slice(0, space);
        const tick = space > 0 ? parseTick(symbol, message.slice(space + 1)) : null;
        if (tick) apply({ symbol, ...tick });
        else logger.warn({ message: message.slice(0, 100) }, 'ignored a malformed price message from Redis');
      },
      onResync: catchUp,
    });
    const now = await latest();
    for (const tick of now) if (!applied.has(tick.symbol)) applied.set(tick.symbol, tick);
    return now;
  }

  return {
    start,
    async publish(symbol, price, at) {
      const prev = await withRedis(options.url, `publish the price of ${symbol}`, () =>
        commands.eval(PUBLISH_SCRIPT, { keys: [hash], arguments: [symbol, String(price), String(at), channel] }),
      );
      return { symbol, price, prev: Number(prev), at };
    },
    latest,
    available: () => commands.isReady && channelOn?.available() === true,
    async close() {
      await channelOn?.close();
      await closeRedis(commands);
    },
  };
}
