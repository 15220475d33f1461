/**
 * Delivery of price ticks to subscribed clients, with what is pending kept per topic, not per
 * connection. Subscribers that get the same bytes form a channel: one per symbol, and one for
 * `prices:*` (every symbol). A tick marks its symbol pending on its channels; a channel sends at
 * once (on the next turn of the event loop, so ticks published together go out together) unless
 * it sent less than `flushMs` ago, in which case it sends when that time is up, the latest value
 * of each pending symbol: faster ticks are conflated, a quiet topic is never held back. Each send
 * is encoded once (a `state` frame, or a `batch` of them for `prices:*`) and the same bytes are
 * written to every subscriber.
 *
 * A topic whose ticks come faster than it sends (a tick replaced one still pending) is under
 * pressure, and its sends also keep to at most a third of the server's time (`SEND_SHARE`): after
 * a send that took `d` ms, its next comes no sooner than `2d` after it ended. Sending to thousands
 * of sockets costs the server about what receiving costs their clients, so this also keeps an
 * overloaded client side from falling further and further behind (the kernel's socket buffers
 * would hide that from `bufferedAmount` for many seconds). A topic that keeps up is never rested.
 *
 * A connection whose socket holds more than `maxBufferedBytes` not yet written is behind: it is
 * skipped, and only which symbols it missed is remembered, until it has drained; then it gets
 * their latest values in one go (those its channel is about to send anyway are left to the
 * channel). So a slow client holds at most one value per topic, never a backlog, and does not hold
 * back the others. Every send is the latest value of its symbol when it is made, so a connection
 * never gets an older value after a newer one (around a subscribe, the same value may come twice:
 * the snapshot, then a send that was already pending).
 */
import type { PriceTick } from '../../lib/wire/prices';
import type { StateFrame } from '../../lib/wire/protocol';
import { topics } from '../../lib/wire/topics';
import type { ServerFrames } from '../clients/frames';
import type { PreparedFrame } from '../transports/prepared-frame';

/** `'*'` stands for the `prices:*` topic: every symbol. */
export type SymbolSelector = string;
export const ALL_SYMBOLS: SymbolSelector = '*';

/** What the fan-out needs from a client. */
export interface FanoutTarget {
  /** Bytes queued in the socket and not yet written. */
  bufferedAmount(): number;
  /** Writes a frame prepared once for every subscriber. */
  sendPrepared(frame: PreparedFrame): void;
}

export interface PriceFanout {
  subscribe(target: FanoutTarget, symbol: SymbolSelector): void;
  unsubscribe(target: FanoutTarget, symbol: SymbolSelector): void;
  /** Forgets a closed client and everything it missed. */
  remove(target: FanoutTarget): void;
  /** Sends `target` the latest value of the selector's symbols now: the snapshot that follows `subscribed`. */
  snapshot(target: FanoutTarget, symbol: SymbolSelector): void;
  publish(tick: PriceTick): void;
  /** Sends everything pending now, whenever the topics last sent (tests, shutdown). */
  flush(): void;
  stop(): void;
}

export interface FanoutDeps {
  /** Shortest time between two sends of one topic; ticks in between are conflated. */
  readonly flushMs: number;
  /** A target whose socket holds more than this many bytes not yet written is behind. */
  readonly maxBufferedBytes: number;
  readonly frames: Pick<ServerFrames, 'prepare' | 'pack'>;
  /** Called when delivering to one target throws; the fan-out carries on with the others. */
  readonly onDeliverError: (target: FanoutTarget, error: unknown) => void;
  /** Monotonic clock in ms. Default `performance.now`. */
  readonly clock?: () => number;
  /** Seconds from a tick's publish to its value's write to the sockets (once per send, not per socket). */
  readonly observe?: (seconds: number) => void;
}

/** The latest tick of a symbol, encoded at most once. */
interface Latest {
  readonly tick: PriceTick;
  /** When it was published (`clock`). */
  readonly at: number;
  prepared: PreparedFrame | undefined;
}

/** Subscribers that get the same bytes, and the symbols they have not been sent the latest value of. */
interface Channel {
  readonly targets: Set<FanoutTarget>;
  readonly pending: Set<string>;
  /** When this channel last sent (`clock`). */
  sentAt: number;
  /** A tick replaced one still pending since the last send: ticks come faster than they go. */
  pressed: boolean;
  /** Under pressure, no send before this (`clock`): the rest after the last one. */
  restUntil: number;
}

interface TargetState {
  /** Symbols held one by one. */
  readonly symbols: Set<string>;
  all: boolean;
  /** Symbols sent on while the target was behind; undefined while it keeps up. */
  behind: Set<string> | undefined;
}

export function stateFrame(tick: PriceTick): StateFrame {
  return { t: 'state', topic: topics.prices(tick.symbol), value: tick, at: tick.at };
}

const newChannel = (): Channel => ({
  targets: new Set(),
  pending: new Set(),
  sentAt: Number.NEGATIVE_INFINITY,
  pressed: false,
  restUntil: Number.NEGATIVE_INFINITY,
});

/** When `channel` may send next. */
const dueAt = (channel: Channel, flushMs: number): number => Math.max(channel.sentAt + flushMs, channel.restUntil);

/** A timer may fire up to a millisecond early by the monotonic clock: close enough to due. */
const TIMER_SLACK_MS = 1;
/** The most of the server's time the fan-out's sends may take: it rests twice as long as it sent. */
export const SEND_SHARE = 1 / 3;

/** The fan-out; one per server (`createPriceFanout`). */
class ChannelFanout implements PriceFanout {
  private readonly clock: () => number;
  private readonly latest = new Map<string, Latest>();
  private readonly everything = newChannel();
  private readonly bySymbol = new Map<string, Channel>();
  private readonly targets = new Map<FanoutTarget, TargetState>();
  /** Channels with something pending. */
  private readonly pending = new Set<Channel>();
  /** Targets that are behind. */
  private readonly lagging = new Set<FanoutTarget>();
  private immediate: ReturnType<typeof setImmediate> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private readonly wake = () => this.run(false);

  constructor(private readonly deps: FanoutDeps) {
    this.clock = deps.clock ?? (() => performance.now());
  }

  subscribe(target: FanoutTarget, symbol: SymbolSelector): void {
    let state = this.targets.get(target);
    if (!state) this.targets.set(target, (state = { symbols: new Set(), all: false, behind: undefined }));
    if (symbol === ALL_SYMBOLS) {
      state.all = true;
      this.everything.targets.add(target);
      return;
    }
    state.symbols.add(symbol);
    let channel = this.bySymbol.get(symbol);
    if (!channel) this.bySymbol.set(symbol, (channel = newChannel()));
    channel.targets.add(target);
  }

  unsubscribe(target: FanoutTarget, symbol: SymbolSelector): void {
    const state = this.targets.get(target);
    if (!state) return;
    if (symbol === ALL_SYMBOLS) {
      if (!state.all) return;
      state.all = false;
      this.everything.targets.delete(target);
      for (const held of [...(state.behind ?? [])]) if (!state.symbols.has(held)) state.behind!.delete(held);
      // What `prices:*` was about to send of a symbol still held: its own channel skipped this target.
      for (const held of state.symbols) {
        if (this.everything.pending.has(held) && !this.bySymbol.get(held)?.pending.has(held)) this.markBehind(target, state, held);
      }
    } else {
      if (!state.symbols.delete(symbol)) return;
      this.leaveSymbol(target, symbol);
      if (!state.all) state.behind?.delete(symbol);
    }
    if (!state.all && state.symbols.size === 0) this.remove(target);
  }

  remove(target: FanoutTarget): void {
    const state = this.targets.get(target);
    if (!state) return;
    for (const symbol of state.symbols) this.leaveSymbol(target, symbol);
    this.everything.targets.delete(target);
    this.lagging.delete(target);
    this.targets.delete(target);
  }

  snapshot(target: FanoutTarget, symbol: SymbolSelector): void {
    const symbols = symbol === ALL_SYMBOLS ? [...this.latest.keys()] : this.latest.has(symbol) ? [symbol] : [];
    if (symbols.length === 0) return;
    const state = this.targets.get(target);
    if (state?.behind) for (const sent of symbols) state.behind.delete(sent);
    this.deliver(target, this.deps.frames.pack(symbols.map((s) => this.prepared(s))));
  }

  publish(tick: PriceTick): void {
    this.latest.set(tick.symbol, { tick, at: this.clock(), prepared: undefined });
    const channel = this.bySymbol.get(tick.symbol);
    if (channel) this.mark(channel, tick.symbol);
    if (this.everything.targets.size > 0) this.mark(this.everything, tick.symbol);
  }

  flush(): void {
    this.run(true);
  }

  stop(): void {
    this.sleep();
    this.pending.clear();
    this.lagging.clear();
  }

  private prepared(symbol: string): PreparedFrame {
    const entry = this.latest.get(symbol)!;
    return (entry.prepared ??= this.deps.frames.prepare(stateFrame(entry.tick)));
  }

  /** Runs at `at` (`clock`), or on the next turn if that is now; an earlier wake-up stands. */
  private wakeAt(at: number): void {
    if (at <= this.clock() + TIMER_SLACK_MS) {
      this.immediate ??= setImmediate(this.wake);
      return;
    }
    if (this.timer !== undefined && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.wake, at - this.clock());
  }

  private sleep(): void {
    clearImmediate(this.immediate);
    clearTimeout(this.timer);
    this.immediate = this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  /** Sends every channel that is due (all with `force`), catches up drained targets, and sleeps until the next is due. */
  private run(force: boolean): void {
    this.sleep();
    const now = this.clock();
    let next = Number.POSITIVE_INFINITY;
    for (const channel of this.pending) {
      const due = dueAt(channel, this.deps.flushMs);
      if (force || due <= now + TIMER_SLACK_MS) {
        this.pending.delete(channel);
        this.send(channel);
      } else next = Math.min(next, due);
    }
    if (this.lagging.size > 0) {
      this.catchUp();
      if (this.lagging.size > 0) next = Math.min(next, now + this.deps.flushMs);
    }
    if (next < Number.POSITIVE_INFINITY) this.wakeAt(next);
  }

  private deliver(target: FanoutTarget, frames: readonly PreparedFrame[]): void {
    try {
      for (const frame of frames) target.sendPrepared(frame);
    } catch (error) {
      this.deps.onDeliverError(target, error);
    }
  }

  private observe(symbols: Iterable<string>): void {
    const { observe } = this.deps;
    if (!observe) return;
    const now = this.clock();
    for (const symbol of symbols) observe((now - this.latest.get(symbol)!.at) / 1000);
  }

  private send(channel: Channel): void {
    const started = this.clock();
    const symbols = [...channel.pending];
    channel.pending.clear();
    channel.sentAt = started;
    const parts = symbols.map((symbol) => this.prepared(symbol));
    const frames = parts.length === 1 ? parts : this.deps.frames.pack(parts);
    for (const target of channel.targets) {
      // A target on `prices:*` gets every symbol there, also those it holds one by one.
      if (channel !== this.everything && this.everything.targets.has(target)) continue;
      const state = this.targets.get(target)!;
      if (state.behind) {
        for (const symbol of symbols) state.behind.add(symbol);
      } else if (target.bufferedAmount() > this.deps.maxBufferedBytes) {
        state.behind = new Set(symbols);
        this.lagging.add(target);
      } else this.deliver(target, frames);
    }
    this.observe(symbols);
    const ended = this.clock();
    channel.restUntil = channel.pressed ? ended + (ended - started) * (1 / SEND_SHARE - 1) : Number.NEGATIVE_INFINITY;
    channel.pressed = false;
  }

  /** Whether the channel that serves `state` `symbol` is about to send it anyway. */
  private aboutToSend(state: TargetState, symbol: string): boolean {
    return (state.all ? this.everything : this.bySymbol.get(symbol))?.pending.has(symbol) ?? false;
  }

  /** Sends each target that has drained the latest values of what it missed. */
  private catchUp(): void {
    for (const target of this.lagging) {
      const state = this.targets.get(target);
      if (state?.behind && target.bufferedAmount() > this.deps.maxBufferedBytes) continue;
      this.lagging.delete(target);
      if (!state?.behind) continue;
      const symbols = [...state.behind].filter((symbol) => !this.aboutToSend(state, symbol));
      state.behind = undefined;
      if (symbols.length === 0) continue;
      this.deliver(target, this.deps.frames.pack(symbols.map((symbol) => this.prepared(symbol))));
      this.observe(symbols);
    }
  }

  private markBehind(target: FanoutTarget, state: TargetState, symbol: string): void {
    (state.behind ??= new Set()).add(symbol);
    this.lagging.add(target);
    this.wakeAt(this.clock() + this.deps.flushMs);
  }

  private mark(channel: Channel, symbol: string): void {
    if (channel.pending.has(symbol)) channel.pressed = true;
    channel.pending.add(symbol);
    this.pending.add(channel);
    this.wakeAt(dueAt(channel, this.deps.flushMs));
  }

  private leaveSymbol(target: FanoutTarget, symbol: string): void {
    const channel = this.bySymbol.get(symbol);
    channel?.targets.delete(target);
    if (channel?.targets.size === 0) {
      this.bySymbol.delete(symbol);
      this.pending.delete(channel);
    }
  }
}

export function createPriceFanout(deps: FanoutDeps): PriceFanout {
  return new ChannelFanout(deps);
}
