/**
 * The shapes the alert engine, the alert store and the alert service share: an alert with its
 * owner and the moment its rule started watching, and what one tick (or expiry sweep) changed.
 */
import type { ServerAlert } from '../../lib/wire/alerts';

/** An alert as the server holds it. */
export interface HeldAlert {
  readonly user: string;
  readonly alert: ServerAlert;
  /**
   * When this version of the rule started watching prices: its creation, last update or resume.
   * Only ticks after it belong to the rule: the first one has no previous price for `crossing`,
   * and `percent-move` finds its references among them. Re-arming after a cooldown keeps it.
   */
  readonly since: number;
}

/** A rule that fired: the alert as it is now (status, `firedAt`, `fireCount` updated). */
export interface Firing {
  readonly user: string;
  readonly alert: ServerAlert;
  readonly price: number;
  readonly at: number;
}

/** What one tick or sweep changed. */
export interface EngineOutcome {
  readonly fired: readonly Firing[];
  /** Alerts whose `expiresAt` passed: now `expired`. */
  readonly expired: readonly HeldAlert[];
  /** Rules the engine looked at, for the evaluation metrics (the index looks at few). */
  readonly examined: number;
}

/** The last price the engine saw of a symbol. */
export interface LastPrice {
  readonly price: number;
  readonly at: number;
}

/**
 * Holds every alert and evaluates the active ones on each tick, with the semantics pinned in
 * `conditions.ts`. Two implementations: the per-symbol index the server runs (`engine.ts`) and a
 * scan of every rule (`scan-engine.ts`), the reference the index is tested and benchmarked against.
 */
export interface AlertEngine {
  /** Adds an alert or replaces the one with its id; it is evaluated according to its status. */
  put(held: HeldAlert): void;
  /** Forgets an alert; returns what it was. */
  remove(alertId: string): HeldAlert | undefined;
  get(alertId: string): HeldAlert | undefined;
  /** A user's alerts, newest first. */
  list(user: string): ServerAlert[];
  /** How many alerts a user holds (any status). */
  count(user: string): number;
  /** Every alert held. */
  all(): IterableIterator<HeldAlert>;
  /**
   * Records a symbol's last price without evaluating anything: the baseline restored after a
   * restart. Call it before putting the restored alerts.
   */
  seed(symbol: string, price: number, at: number): void;
  lastPrice(symbol: string): LastPrice | undefined;
  /** Every symbol's last price. */
  prices(): IterableIterator<[string, LastPrice]>;
  /**
   * Evaluates one tick: expires what is due (every symbol), then fires the rules of `symbol` it
   * satisfies. A tick older than the symbol's last one counts as happening at the same time.
   */
  tick(symbol: string, price: number, at: number): EngineOutcome;
  /** Expires what is due at `now` (the periodic sweep, so an expiry does not wait for a tick). */
  sweep(now: number): EngineOutcome;
  /** Alerts held. */
  readonly size: number;
}
