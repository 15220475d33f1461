/**
 * Delivery of price ticks to subscribed clients. Each client has a pending map of
 * topic → latest state frame (conflated: a newer tick replaces an unsent older one) that a shared
 * timer flushes every `flushMs`. A client whose socket buffer is over `maxBufferedBytes` skips
 * flushes until it drains, so a slow client holds at most one frame per topic, never a backlog.
 * Ticks reach only the clients in the symbol's index and the `prices:*` set: publishing never
 * scans all clients.
 */
import type { PriceTick } from '../../lib/wire/prices';
import type { StateFrame } from '../../lib/wire/protocol';
import { parseTopic, topics } from '../../lib/wire/topics';
import { addToSet, deleteFromSet } from '../common/set-map';

/** `'*'` stands for the `prices:*` topic: every symbol. */
export type SymbolSelector = string;
export const ALL_SYMBOLS: SymbolSelector = '*';

/** What the fan-out needs from a client. */
export interface FanoutTarget {
  /** Bytes queued in the socket and not yet written. */
  bufferedAmount(): number;
  /** Sends the frames of one flush (the target decides between `state` and `batch`). */
  deliver(frames: readonly StateFrame[]): void;
}

export interface PriceFanout {
  subscribe(target: FanoutTarget, symbol: SymbolSelector): void;
  unsubscribe(target: FanoutTarget, symbol: SymbolSelector): void;
  /** Forgets a closed client and everything pending for it. */
  remove(target: FanoutTarget): void;
  /** Drops pending frames a just-sent snapshot made redundant: one topic, or all with `'*'`. */
  discardPending(target: FanoutTarget, symbol: SymbolSelector): void;
  publish(tick: PriceTick): void;
  /** Flushes now instead of at the next timer (tests, shutdown). */
  flush(): void;
  stop(): void;
}

export interface FanoutDeps {
  /** Flush interval. */
  readonly flushMs: number;
  /** Over this many buffered bytes a target's flush is skipped. */
  readonly maxBufferedBytes: number;
  /** Called when delivering to one target throws; the fan-out carries on with the others. */
  readonly onDeliverError: (target: FanoutTarget, error: unknown) => void;
}

interface TargetState {
  readonly symbols: Set<string>;
  all: boolean;
  readonly pending: Map<string, StateFrame>;
}

export function stateFrame(tick: PriceTick): StateFrame {
  return { t: 'state', topic: topics.prices(tick.symbol), value: tick, at: tick.at };
}

export function createPriceFanout(deps: FanoutDeps): PriceFanout {
  const targets = new Map<FanoutTarget, TargetState>();
  const bySymbol = new Map<string, Set<FanoutTarget>>();
  const allSymbols = new Set<FanoutTarget>();
  const dirty = new Set<FanoutTarget>();
  let timer: ReturnType<typeof setTimeout> | undefined;

  const stateOf = (target: FanoutTarget): TargetState => {
    let state = targets.get(target);
    if (!state) {
      state = { symbols: new Set(), all: false, pending: new Map() };
      targets.set(target, state);
    }
    return state;
  };

  function schedule(): void {
    if (timer === undefined && dirty.size > 0) timer = setTimeout(flush, deps.flushMs);
  }

  function flush(): void {
    timer = undefined;
    for (const target of dirty) {
      const state = targets.get(target);
      if (!state || state.pending.size === 0) {
        dirty.delete(target);
        continue;
      }
      if (target.bufferedAmount() > deps.maxBufferedBytes) continue;
      const frames = [...state.pending.values()];
      state.pending.clear();
      dirty.delete(target);
      try {
        target.deliver(frames);
      } catch (error) {
        deps.onDeliverError(target, error);
      }
    }
    schedule();
  }

  function enqueue(target: FanoutTarget, frame: StateFrame): void {
    const state = targets.get(target);
    if (!state) return;
    state.pending.set(frame.topic, frame);
    dirty.add(target);
  }

  return {
    subscribe(target, symbol) {
      const state = stateOf(target);
      if (symbol === ALL_SYMBOLS) {
        state.all = true;
        allSymbols.add(target);
        return;
      }
      state.symbols.add(symbol);
      addToSet(bySymbol, symbol, target);
    },
    unsubscribe(target, symbol) {
      const state = targets.get(target);
      if (!state) return;
      if (symbol === ALL_SYMBOLS) {
        state.all = false;
        allSymbols.delete(target);
        for (const topic of state.pending.keys()) {
          const pendingSymbol = parseTopic(topic)?.arg;
          if (pendingSymbol === undefined || !state.symbols.has(pendingSymbol)) state.pending.delete(topic);
        }
        return;
      }
      state.symbols.delete(symbol);
      deleteFromSet(bySymbol, symbol, target);
      if (!state.all) state.pending.delete(topics.prices(symbol));
    },
    remove(target) {
      const state = targets.get(target);
      if (!state) return;
      for (const symbol of state.symbols) deleteFromSet(bySymbol, symbol, target);
      allSymbols.delete(target);
      dirty.delete(target);
      targets.delete(target);
    },
    discardPending(target, symbol) {
      const state = targets.get(target);
      if (!state) return;
      if (symbol === ALL_SYMBOLS) state.pending.clear();
      else state.pending.delete(topics.prices(symbol));
    },
    publish(tick) {
      const frame = stateFrame(tick);
      for (const target of bySymbol.get(tick.symbol) ?? []) enqueue(target, frame);
      for (const target of allSymbols) {
        const state = targets.get(target);
        // A target in both sets already has this frame pending from the loop above.
        if (state && !state.symbols.has(tick.symbol)) enqueue(target, frame);
      }
      schedule();
    },
    flush() {
      if (timer !== undefined) clearTimeout(timer);
      flush();
    },
    stop() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      dirty.clear();
    },
  };
}
