/**
 * The price simulator: a geometric random walk over well-known symbols, publishing through the same
 * door as the admin API. Randomness is injected, so a seeded run is reproducible in tests.
 */

/** Plausible starting prices (USD) of the default symbols. */
export const DEFAULT_START_PRICES: Readonly<Record<string, number>> = {
  AAPL: 228.5,
  MSFT: 415.3,
  GOOGL: 168.2,
  AMZN: 186.4,
  META: 560.1,
  NVDA: 121.4,
  TSLA: 245.6,
  NFLX: 690.8,
  AMD: 155.2,
  INTC: 22.9,
  IBM: 215.7,
  ORCL: 170.3,
  JPM: 212.5,
  V: 285.4,
  KO: 69.8,
  DIS: 94.6,
  'BRK.B': 455.2,
  'BTC-USD': 67_250,
  'ETH-USD': 2_640,
  'SOL-USD': 152.3,
};

export interface SimulatorDeps {
  /** Publishes one price; the same function the admin API uses. */
  readonly publish: (symbol: string, price: number) => void;
  /** Ticks per second across all symbols. */
  readonly ticksPerSecond: number;
  /** Symbols to move. Default: the keys of `DEFAULT_START_PRICES`. */
  readonly symbols?: readonly string[];
  /** Uniform random in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
  /** Per-tick volatility (standard deviation of the log return). Default 0.002. */
  readonly volatility?: number;
  /**
   * A symbol's price as the server has it now, if any. A start (also on the node that takes the
   * simulator over from another) moves on from there instead of jumping back to its own prices.
   */
  readonly latest?: (symbol: string) => number | undefined;
}

export interface Simulator {
  /** Publishes the starting price of every symbol that has none yet (`latest`), then ticks on a timer. */
  start(): void;
  /** Moves one random symbol one step (the timer calls this; tests call it directly). */
  step(): void;
  stop(): void;
}

/** Timers below ~20 ms are clamped and jittery; faster rates put several ticks in one interval. */
const MIN_INTERVAL_MS = 20;

/** Cents above $1, four decimals below, like a quote screen. */
export function roundPrice(price: number): number {
  const factor = price >= 1 ? 100 : 10_000;
  return Math.max(1 / factor, Math.round(price * factor) / factor);
}

export function createSimulator(deps: SimulatorDeps): Simulator {
  const random = deps.random ?? Math.random;
  const volatility = deps.volatility ?? 0.002;
  const symbols = deps.symbols ?? Object.keys(DEFAULT_START_PRICES);
  if (symbols.length === 0) throw new RangeError('The simulator needs at least one symbol');
  const prices = new Map(symbols.map((symbol) => [symbol, DEFAULT_START_PRICES[symbol] ?? 100]));
  let timer: ReturnType<typeof setInterval> | undefined;

  /** Standard normal sample by Box-Muller; `1 - random()` keeps the log argument above 0. */
  function normal(): number {
    return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  }

  function step(): void {
    const symbol = symbols[Math.floor(random() * symbols.length) % symbols.length]!;
    const next = roundPrice(prices.get(symbol)! * Math.exp(volatility * normal()));
    prices.set(symbol, next);
    deps.publish(symbol, next);
  }

  return {
    start() {
      if (timer !== undefined) return;
      for (const [symbol, price] of prices) {
        const current = deps.latest?.(symbol);
        if (current === undefined) deps.publish(symbol, price);
        else prices.set(symbol, current);
      }
      const intervalMs = Math.max(MIN_INTERVAL_MS, 1000 / deps.ticksPerSecond);
      const perInterval = (deps.ticksPerSecond * intervalMs) / 1000;
      let owed = 0;
      timer = setInterval(() => {
        owed += perInterval;
        for (; owed >= 1; owed -= 1) step();
      }, intervalMs);
      timer.unref();
    },
    step,
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
