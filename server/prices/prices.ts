/**
 * The server's prices as one part: the price book every tick goes through (counted, fanned out to
 * subscribed clients, then handed on to the alerts), the fan-out, and the simulator when it is on.
 */
import type { Logger } from 'pino';
import type { PriceTick } from '../../lib/wire/prices';
import type { ServerFrames } from '../clients/frames';
import type { Metrics } from '../metrics';
import type { PriceRelay } from '../redis/price-relay';
import type { ServerOptions } from '../options';
import { createPriceBook, type PriceBook } from './book';
import { createPriceFanout, type PriceFanout } from './fanout';
import { createSimulator, type Simulator } from './simulator';

export interface Prices {
  readonly book: PriceBook;
  readonly fanout: PriceFanout;
  /** Undefined with `simulator: 'off'`; started once the server listens. */
  readonly simulator: Simulator | undefined;
  /**
   * The latest prices other nodes published before this one started: the book and the snapshots
   * subscribers get have them; the alerts do not evaluate them (they keep their own last prices).
   */
  seed(ticks: Iterable<PriceTick>): void;
}

export interface PricesDeps {
  readonly options: Pick<ServerOptions, 'flushMs' | 'maxBufferedBytes' | 'now' | 'simulator'>;
  readonly metrics: Pick<Metrics, 'priceTick' | 'publishToWrite'>;
  /** The server's shared frames: each tick is encoded once for all its subscribers. */
  readonly frames: Pick<ServerFrames, 'prepare' | 'pack'>;
  readonly logger: Logger;
  /** Every tick, after the fan-out has it (the alert service evaluates it). */
  readonly onTick: (tick: PriceTick) => void;
  /** Counts and logs a failure the server carries on after. */
  readonly reportError: (error: unknown, message: string) => void;
  /** Several nodes on Redis: prices go through it to every node (`server/redis/price-relay.ts`). */
  readonly relay?: Pick<PriceRelay, 'publish'>;
}

export function createPrices(deps: PricesDeps): Prices {
  const { options, logger } = deps;
  const fanout = createPriceFanout({
    flushMs: options.flushMs,
    maxBufferedBytes: options.maxBufferedBytes,
    frames: deps.frames,
    onDeliverError: (_target, error) => deps.reportError(error, 'tick delivery failed'),
    observe: (seconds) => deps.metrics.publishToWrite('state', seconds),
  });
  const relay = deps.relay;
  const book = createPriceBook({
    now: options.now,
    ...(relay ? { relay: (symbol: string, price: number, at: number) => relay.publish(symbol, price, at) } : {}),
    onTick: (tick) => {
      deps.metrics.priceTick();
      fanout.publish(tick);
      deps.onTick(tick);
    },
  });
  let missedSince: number | null = null;
  /** Logs once per outage, not once per tick. */
  function simulatorMissed(): void {
    const now = options.now();
    if (missedSince !== null && now - missedSince < 60_000) return;
    missedSince = now;
    logger.warn('simulated prices are being skipped: Redis is unavailable');
  }
  const simulator =
    options.simulator === 'off'
      ? undefined
      : createSimulator({
          ticksPerSecond: options.simulator.ticksPerSecond,
          latest: (symbol) => book.get(symbol)?.price,
          ...(options.simulator.symbols ? { symbols: options.simulator.symbols } : {}),
          publish: (symbol, price) => {
            const result = book.publish(symbol, price);
            if (!result.ok) logger.warn({ symbol, price, error: result.error }, 'simulator produced an invalid price');
            // A tick Redis could not take is skipped: the next one follows within a second.
            else result.sent?.catch(() => simulatorMissed());
          },
        });
  return {
    book,
    fanout,
    simulator,
    seed(ticks) {
      for (const tick of book.seed(ticks)) fanout.publish(tick);
    },
  };
}
