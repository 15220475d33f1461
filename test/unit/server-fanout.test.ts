/**
 * The tick fan-out with fake timers: what is pending is kept per topic, a topic sends at once when
 * it is idle (the next turn, not after a timer) and at most once per `flushMs` (nothing at
 * `flushMs - 1` after its last send, the latest value at `flushMs`), each send encoded once and
 * written to every subscriber as the same bytes; a target whose socket is behind is skipped and,
 * once drained, gets only the latest value of each symbol it missed, without holding back the
 * others; the symbol and `prices:*` indexes; and, over a seeded random schedule, that every target
 * ends on the latest price and never gets an older one after a newer one.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { createCodec } from '../../lib/wire/codec';
import type { PriceTick } from '../../lib/wire/prices';
import type { ServerFrame, StateFrame } from '../../lib/wire/protocol';
import { createServerFrames } from '../../server/clients/frames';
import { ALL_SYMBOLS, createPriceFanout, type FanoutTarget, type PriceFanout } from '../../server/prices/fanout';
import type { PreparedFrame } from '../../server/transports/prepared-frame';
import { seededRandom } from '../support/random';

const FLUSH_MS = 50;
const MAX_BUFFERED = 1000;
const codec = createCodec();

interface FakeTarget extends FanoutTarget {
  buffered: number;
  /** Every frame written, as the bytes handed over. */
  readonly written: PreparedFrame[];
}

function fakeTarget(): FakeTarget {
  const target: FakeTarget = {
    buffered: 0,
    written: [],
    bufferedAmount: () => target.buffered,
    sendPrepared: (frame) => void target.written.push(frame),
  };
  return target;
}

/** The state frames in one written frame. */
function statesIn(frame: PreparedFrame): StateFrame[] {
  const decoded = codec.decodeServerFrame(frame.bytes);
  if (!decoded.ok) throw new Error(decoded.message);
  const value: ServerFrame = decoded.frame;
  if (value.t === 'state') return [value];
  if (value.t === 'batch') return value.frames.filter((f): f is StateFrame => f.t === 'state');
  throw new Error(`unexpected ${value.t}`);
}

/** Each written frame as `topic=price` strings. */
const deliveries = (target: FakeTarget) => target.written.map((frame) => statesIn(frame).map((s) => `${s.topic}=${(s.value as PriceTick).price}`));

let at = 1000;
const tick = (symbol: string, price: number): PriceTick => ({ symbol, price, prev: price, at: at++ });

let fanout: PriceFanout;
let errors: unknown[];
let prepared: number;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'] });
  errors = [];
  prepared = 0;
  const frames = createServerFrames(codec, 64 * 1024);
  fanout = createPriceFanout({
    flushMs: FLUSH_MS,
    maxBufferedBytes: MAX_BUFFERED,
    frames: {
      prepare: (frame) => {
        prepared += 1;
        return frames.prepare(frame);
      },
      pack: frames.pack,
    },
    onDeliverError: (_t, e) => errors.push(e),
    clock: () => Date.now(),
  });
});
afterEach(() => {
  fanout.stop();
  vi.useRealTimers();
});

/** Runs what is due now (the fan-out's next turn), without moving the clock. */
const nextTurn = () => vi.advanceTimersByTime(0);

describe('sending at once, conflating only what comes faster than flushMs', () => {
  test('a tick to an idle topic goes out on the next turn, not after a timer', () => {
    const target = fakeTarget();
    fanout.subscribe(target, 'AAPL');
    fanout.publish(tick('AAPL', 1));
    expect(target.written).toEqual([]);
    nextTurn();
    expect(deliveries(target)).toEqual([['prices:AAPL=1']]);
  });

  test('ticks published in one turn go out together, the latest per topic; prices:* gets them as one batch', () => {
    const one = fakeTarget();
    const all = fakeTarget();
    fanout.subscribe(one, 'AAPL');
    fanout.subscribe(all, ALL_SYMBOLS);
    fanout.publish(tick('AAPL', 1));
    fanout.publish(tick('MSFT', 10));
    fanout.publish(tick('AAPL', 2));
    nextTurn();
    expect(deliveries(one)).toEqual([['prices:AAPL=2']]);
    expect(deliveries(all)).toEqual([['prices:AAPL=2', 'prices:MSFT=10']]);
  });

  test('a topic that sent less than flushMs ago sends the latest value when flushMs is up: nothing at flushMs - 1', () => {
    const target = fakeTarget();
    fanout.subscribe(target, 'AAPL');
    fanout.publish(tick('AAPL', 1));
    nextTurn();
    vi.advanceTimersByTime(10);
    fanout.publish(tick('AAPL', 2));
    fanout.publish(tick('AAPL', 3));
    vi.advanceTimersByTime(FLUSH_MS - 10 - 1);
    expect(deliveries(target)).toEqual([['prices:AAPL=1']]);
    vi.advanceTimersByTime(1);
    expect(deliveries(target)).toEqual([['prices:AAPL=1'], ['prices:AAPL=3']]);
  });

  test('a topic quiet for flushMs sends its next tick at once again', () => {
    const target = fakeTarget();
    fanout.subscribe(target, 'AAPL');
    fanout.publish(tick('AAPL', 1));
    nextTurn();
    vi.advanceTimersByTime(FLUSH_MS);
    fanout.publish(tick('AAPL', 2));
    nextTurn();
    expect(deliveries(target)).toEqual([['prices:AAPL=1'], ['prices:AAPL=2']]);
  });

  test('topics are throttled each on its own: a busy one does not hold back another', () => {
    const target = fakeTarget();
    fanout.subscribe(target, 'AAPL');
    fanout.subscribe(target, 'MSFT');
    fanout.publish(tick('AAPL', 1));
    nextTurn();
    fanout.publish(tick('AAPL', 2));
    fanout.publish(tick('MSFT', 10));
    nextTurn();
    expect(deliveries(target)).toEqual([['prices:AAPL=1'], ['prices:MSFT=10']]);
  });

  test('no subscribers, no timer and nothing encoded', () => {
    const target = fakeTarget();
    fanout.subscribe(target, 'AAPL');
    fanout.publish(tick('MSFT', 1));
    expect(vi.getTimerCount()).toBe(0);
    expect(prepared).toBe(0);
  });

  test('flush() sends what is pending at once, whenever the topic last sent', () => {
    const target = fakeTarget();
    fanout.subscribe(target, 'AAPL');
    fanout.publish(tick('AAPL', 1));
    nextTurn();
    fanout.publish(tick('AAPL', 2));
    fanout.flush();
    expect(deliveries(target)).toEqual([['prices:AAPL=1'], ['prices:AAPL=2']]);
  });
});

describe('a topic whose ticks come faster than it sends', () => {
  /** A target whose writes take `ms` of the clock each, as writing to many sockets does. */
  function costly(ms: number): FakeTarget {
    const target = fakeTarget();
    target.sendPrepared = (frame) => {
      vi.setSystemTime(Date.now() + ms);
      target.written.push(frame);
    };
    return target;
  }

  test('rests twice as long as its last send took before the next (the fan-out keeps to a third of the time)', () => {
    const target = costly(20);
    fanout.subscribe(target, 'AAPL');
    fanout.publish(tick('AAPL', 1));
    nextTurn(); // sent at 0, took 20
    vi.advanceTimersByTime(5);
    fanout.publish(tick('AAPL', 2));
    fanout.publish(tick('AAPL', 3)); // replaces 2: under pressure
    vi.advanceTimersByTime(25); // at 50: sends 3, took 20: no send before 70 + 40
    expect(deliveries(target)).toEqual([['prices:AAPL=1'], ['prices:AAPL=3']]);
    vi.advanceTimersByTime(5);
    fanout.publish(tick('AAPL', 4));
    vi.advanceTimersByTime(110 - 75 - 1);
    expect(target.written).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(deliveries(target).at(-1)).toEqual(['prices:AAPL=4']);
  });

  test('a topic that keeps up is never rested, however long its sends take', () => {
    const target = costly(40);
    fanout.subscribe(target, 'AAPL');
    for (let price = 1; price <= 3; price++) {
      fanout.publish(tick('AAPL', price));
      nextTurn();
      expect(deliveries(target).at(-1)).toEqual([`prices:AAPL=${price}`]);
      vi.advanceTimersByTime(FLUSH_MS - 40);
    }
  });
});

describe('encoded once for every subscriber', () => {
  test('every subscriber is written the same bytes, encoded once per tick', () => {
    const targets = Array.from({ length: 100 }, fakeTarget);
    for (const target of targets) fanout.subscribe(target, 'AAPL');
    fanout.publish(tick('AAPL', 1));
    nextTurn();
    expect(prepared).toBe(1);
    const first = targets[0]!.written[0];
    for (const target of targets) expect(target.written).toEqual([first]);
    expect(targets.every((target) => target.written[0] === first)).toBe(true);
  });

  test('prices:* subscribers share one batch, built from the same encoded ticks as a symbol subscriber', () => {
    const all = [fakeTarget(), fakeTarget()];
    const one = fakeTarget();
    for (const target of all) fanout.subscribe(target, ALL_SYMBOLS);
    fanout.subscribe(one, 'AAPL');
    fanout.publish(tick('AAPL', 1));
    fanout.publish(tick('MSFT', 2));
    nextTurn();
    expect(prepared).toBe(2);
    expect(all[0]!.written[0]).toBe(all[1]!.written[0]);
    expect(deliveries(one)).toEqual([['prices:AAPL=1']]);
  });
});

describe('slow clients', () => {
  test('a target that is behind is skipped, the others are not held back, and once drained it gets only the latest value', () => {
    const slow = fakeTarget();
    const fast = fakeTarget();
    for (const t of [slow, fast]) fanout.subscribe(t, 'AAPL');
    slow.buffered = MAX_BUFFERED + 1;
    for (let price = 1; price <= 5; price++) {
      fanout.publish(tick('AAPL', price));
      vi.advanceTimersByTime(FLUSH_MS);
    }
    expect(slow.written).toEqual([]);
    expect(deliveries(fast)).toEqual([1, 2, 3, 4, 5].map((p) => [`prices:AAPL=${p}`]));
    slow.buffered = 0;
    vi.advanceTimersByTime(FLUSH_MS);
    expect(deliveries(slow)).toEqual([['prices:AAPL=5']]);
    // Caught up: it gets the next tick like everyone else.
    fanout.publish(tick('AAPL', 6));
    vi.advanceTimersByTime(FLUSH_MS);
    expect(deliveries(slow)).toEqual([['prices:AAPL=5'], ['prices:AAPL=6']]);
  });

  test('what it missed of several topics comes in one go, one value each', () => {
    const slow = fakeTarget();
    fanout.subscribe(slow, ALL_SYMBOLS);
    slow.buffered = MAX_BUFFERED + 1;
    for (const [symbol, price] of [['AAPL', 1], ['MSFT', 2], ['AAPL', 3]] as const) {
      fanout.publish(tick(symbol, price));
      vi.advanceTimersByTime(FLUSH_MS);
    }
    slow.buffered = 0;
    vi.advanceTimersByTime(FLUSH_MS);
    expect(deliveries(slow)).toEqual([['prices:AAPL=3', 'prices:MSFT=2']]);
  });

  test('a value its topic is about to send anyway is left to the topic: it does not come twice', () => {
    const slow = fakeTarget();
    const other = fakeTarget();
    fanout.subscribe(slow, 'AAPL');
    fanout.subscribe(other, 'MSFT');
    slow.buffered = MAX_BUFFERED + 1;
    fanout.publish(tick('AAPL', 1));
    nextTurn();
    vi.advanceTimersByTime(10);
    fanout.publish(tick('AAPL', 2));
    slow.buffered = 0;
    // Another topic's send checks on the drained target while AAPL=2 waits for flushMs.
    vi.advanceTimersByTime(10);
    fanout.publish(tick('MSFT', 10));
    nextTurn();
    expect(slow.written).toEqual([]);
    vi.advanceTimersByTime(FLUSH_MS);
    expect(deliveries(slow)).toEqual([['prices:AAPL=2']]);
  });

  test('a target whose delivery throws is reported and the others still get theirs', () => {
    const broken = fakeTarget();
    broken.sendPrepared = () => {
      throw new Error('socket exploded');
    };
    const healthy = fakeTarget();
    for (const t of [broken, healthy]) fanout.subscribe(t, 'AAPL');
    fanout.publish(tick('AAPL', 1));
    nextTurn();
    expect(errors).toHaveLength(1);
    expect(healthy.written).toHaveLength(1);
  });
});

describe('indexes and snapshots', () => {
  test('prices:* receives every symbol; a symbol also subscribed directly comes once', () => {
    const all = fakeTarget();
    fanout.subscribe(all, ALL_SYMBOLS);
    fanout.subscribe(all, 'AAPL');
    fanout.publish(tick('AAPL', 1));
    fanout.publish(tick('ZZZ', 2));
    nextTurn();
    expect(deliveries(all)).toEqual([['prices:AAPL=1', 'prices:ZZZ=2']]);
  });

  test('after unsubscribing prices:*, what it had pending of other symbols never comes; of a symbol still held, it does', () => {
    const target = fakeTarget();
    const other = fakeTarget();
    fanout.subscribe(target, 'AAPL');
    fanout.subscribe(target, ALL_SYMBOLS);
    fanout.subscribe(other, ALL_SYMBOLS);
    fanout.publish(tick('KO', 1));
    nextTurn();
    fanout.publish(tick('AAPL', 1));
    fanout.publish(tick('MSFT', 2));
    fanout.unsubscribe(target, ALL_SYMBOLS);
    vi.advanceTimersByTime(FLUSH_MS);
    expect(deliveries(target)).toEqual([['prices:KO=1'], ['prices:AAPL=1']]);
    fanout.unsubscribe(target, 'AAPL');
    fanout.publish(tick('AAPL', 3));
    vi.advanceTimersByTime(FLUSH_MS);
    expect(target.written).toHaveLength(2);
  });

  test('unsubscribing a symbol still covered by prices:* keeps its pending tick', () => {
    const target = fakeTarget();
    fanout.subscribe(target, 'AAPL');
    fanout.subscribe(target, ALL_SYMBOLS);
    fanout.publish(tick('AAPL', 1));
    fanout.unsubscribe(target, 'AAPL');
    nextTurn();
    expect(deliveries(target)).toEqual([['prices:AAPL=1']]);
  });

  test('the snapshot is the latest value of each symbol, encoded once however many subscribe', () => {
    fanout.publish(tick('AAPL', 1));
    fanout.publish(tick('MSFT', 2));
    fanout.publish(tick('AAPL', 3));
    const targets = [fakeTarget(), fakeTarget()];
    for (const target of targets) {
      fanout.subscribe(target, ALL_SYMBOLS);
      fanout.snapshot(target, ALL_SYMBOLS);
    }
    const one = fakeTarget();
    fanout.subscribe(one, 'MSFT');
    fanout.snapshot(one, 'MSFT');
    fanout.snapshot(one, 'NONE');
    expect(deliveries(targets[0]!)).toEqual([['prices:AAPL=3', 'prices:MSFT=2']]);
    expect(deliveries(one)).toEqual([['prices:MSFT=2']]);
    expect(prepared).toBe(2);
  });

  test('a removed target gets nothing more, what it missed included', () => {
    const target = fakeTarget();
    fanout.subscribe(target, 'AAPL');
    fanout.subscribe(target, ALL_SYMBOLS);
    target.buffered = MAX_BUFFERED + 1;
    fanout.publish(tick('AAPL', 1));
    nextTurn();
    fanout.remove(target);
    target.buffered = 0;
    fanout.publish(tick('AAPL', 2));
    vi.advanceTimersByTime(FLUSH_MS * 2);
    expect(target.written).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('over a seeded random schedule', () => {
  test.each([1, 2, 3])('seed %i: every target ends on the latest price of each symbol, and never gets an older one after a newer one', (seed) => {
    const random = seededRandom(seed);
    const symbols = ['AAPL', 'MSFT', 'KO'];
    const targets = Array.from({ length: 6 }, fakeTarget);
    targets.forEach((target, i) => {
      if (i % 2 === 0) fanout.subscribe(target, ALL_SYMBOLS);
      else for (const symbol of symbols) fanout.subscribe(target, symbol);
    });
    const last = new Map<string, number>();
    for (let step = 1; step <= 400; step++) {
      const symbol = symbols[Math.floor(random() * symbols.length)]!;
      fanout.publish(tick(symbol, step));
      last.set(symbol, step);
      for (const target of targets) if (random() < 0.1) target.buffered = random() < 0.5 ? MAX_BUFFERED + 1 : 0;
      vi.advanceTimersByTime(Math.floor(random() * 30));
    }
    for (const target of targets) target.buffered = 0;
    vi.advanceTimersByTime(FLUSH_MS * 2);
    for (const target of targets) {
      const seen = new Map<string, number[]>();
      for (const frame of target.written) {
        for (const state of statesIn(frame)) seen.set(state.topic, [...(seen.get(state.topic) ?? []), (state.value as PriceTick).price]);
      }
      for (const symbol of symbols) {
        const prices = seen.get(`prices:${symbol}`) ?? [];
        expect(prices.at(-1)).toBe(last.get(symbol));
        expect(prices).toEqual([...prices].sort((a, b) => a - b));
        expect(new Set(prices).size).toBe(prices.length);
      }
    }
  });
});
