/**
 * The server's prices as one part: the price book every tick goes through (counted, fanned out to
 * subscribed clients, then handed on to the alerts), the fan-out, and the simulator when it is on.
 */
import type { Logger } from 'pino';
import type { PriceTick } from '../../lib/wire/prices';
import type { ServerFrames } from '../clients/frames';
import type { Metrics } from '../metrics';
import type { ServerOptions } from '../options';
import { createPriceBook, type PriceBook } from './book';
import { createPriceFanout, type PriceFanout } from './fanout';
import { createSimulator, type Simulator } from './simulator';

export interface Prices {
  readonly book: PriceBook;
  readonly fanout: PriceFanout;
  /** Undefined with `simulator: 'off'`; started once the server listens. */
  readonly simulator: Simulator | undefined;
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
  const book = createPriceBook({
    now: options.now,
    onTick: (tick) => {
      deps.metrics.priceTick();
      fanout.publish(tick);
      deps.onTick(tick);
    },
  });
  const simulator =
    options.simulator === 'off'
      ? undefined
      : createSimulator({
          ticksPerSecond: options.simulator.ticksPerSecond,
          ...(options.simulator.symbols ? { symbols: options.simulator.symbols } : {}),
          publish: (symbol, price) => {
            const result = book.publish(symbol, price);
            if (!result.ok) logger.warn({ symbol, price, error: result.error }, 'simulator produced an invalid price');
          },
        });
  return { book, fanout, simulator };
}
