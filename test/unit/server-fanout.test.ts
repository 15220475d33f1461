/**
 * The tick fan-out with fake timers: conflation per topic, one delivery per flush interval (nothing
 * at `flushMs - 1`, the batch at `flushMs`), skipped flushes for a backed-up socket, and the
 * symbol / `prices:*` indexes.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { PriceTick } from '../../lib/wire/prices';
import type { StateFrame } from '../../lib/wire/protocol';
import { ALL_SYMBOLS, createPriceFanout, type FanoutTarget, type PriceFanout } from '../../server/prices/fanout';

const FLUSH_MS = 50;
const MAX_BUFFERED = 1000;

interface FakeTarget extends FanoutTarget {
  buffered: number;
  readonly deliveries: StateFrame[][];
}

function fakeTarget(): FakeTarget {
  const target: FakeTarget = {
    buffered: 0,
    deliveries: [],
    bufferedAmount: () => target.buffered,
    deliver: (frames) => void target.deliveries.push([...frames]),
  };
  return target;
}

let at = 1000;
const tick = (symbol: string, price: number): PriceTick => ({ symbol, price, prev: price, at: at++ });
const prices = (delivery: StateFrame[] | undefined) => delivery?.map((f) => `${f.topic}=${(f.value as PriceTick).price}`);

let fanout: PriceFanout;
let errors: unknown[];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  errors = [];
  fanout = createPriceFanout({ flushMs: FLUSH_MS, maxBufferedBytes: MAX_BUFFERED, onDeliverError: (_t, e) => errors.push(e) });
});
afterEach(() => {
  fanout.stop();
  vi.useRealTimers();
});

describe('flush timing and conflation', () => {
  test('nothing is delivered before flushMs; at flushMs one delivery holds the latest tick per topic', () => {
    const target = fakeTarget();
    fanout.subscribe(target, 'AAPL');
    fanout.subscribe(target, 'MSFT');
    fanout.publish(tick('AAPL', 1));
    fanout.publish(tick('MSFT', 10));
    fanout.publish(tick('AAPL', 2));
    fanout.publish(tick('AAPL', 3));
    vi.advanceTimersByTime(FLUSH_MS - 1);
    expect(target.deliveries).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(target.deliveries.map(prices)).toEqual([['prices:AAPL=3', 'prices:MSFT=10']]);
  });

  test('no ticks, no timer and no deliveries', () => {
    const target = fakeTarget();
    fanout.subscribe(target, 'AAPL');
    fanout.publish(tick('MSFT', 1));
    expect(vi.getTimerCount()).toBe(0);
    expect(target.deliveries).toEqual([]);
  });

  test('each flush interval delivers what arrived since the previous one', () => {
    const target = fakeTarget();
    fanout.subscribe(target, 'AAPL');
    fanout.publish(tick('AAPL', 1));
    vi.advanceTimersByTime(FLUSH_MS);
    fanout.publish(tick('AAPL', 2));
    vi.advanceTimersByTime(FLUSH_MS);
    expect(target.deliveries.map(prices)).toEqual([['prices:AAPL=1'], ['prices:AAPL=2']]);
  });

  test('flush() delivers at once', () => {
    const target = fakeTarget();
    fanout.subscribe(target, 'AAPL');
    fanout.publish(tick('AAPL', 1));
    fanout.flush();
    expect(target.deliveries).toHaveLength(1);
  });
});

describe('slow clients', () => {
  test('a target over maxBufferedBytes is skipped and later gets only the latest value', () => {
    const slow = fakeTarget();
    const fast = fakeTarget();
    for (const t of [slow, fast]) fanout.subscribe(t, 'AAPL');
    slow.buffered = MAX_BUFFERED + 1;
    for (let price = 1; price <= 5; price++) {
      fanout.publish(tick('AAPL', price));
      vi.advanceTimersByTime(FLUSH_MS);
    }
    expect(slow.deliveries).toEqual([]);
    expect(fast.deliveries).toHaveLength(5);
    slow.buffered = 0;
    vi.advanceTimersByTime(FLUSH_MS);
    expect(slow.deliveries.map(prices)).toEqual([['prices:AAPL=5']]);
  });

  test('a target whose delivery throws is reported and the others still get theirs', () => {
    const broken = fakeTarget();
    broken.deliver = () => {
      throw new Error('socket exploded');
    };
    const healthy = fakeTarget();
    for (const t of [broken, healthy]) fanout.subscribe(t, 'AAPL');
    fanout.publish(tick('AAPL', 1));
    vi.advanceTimersByTime(FLUSH_MS);
    expect(errors).toHaveLength(1);
    expect(healthy.deliveries).toHaveLength(1);
  });
});

describe('indexes', () => {
  test('prices:* receives every symbol; a symbol also subscribed directly is pending once', () => {
    const all = fakeTarget();
    fanout.subscribe(all, ALL_SYMBOLS);
    fanout.subscribe(all, 'AAPL');
    fanout.publish(tick('AAPL', 1));
    fanout.publish(tick('ZZZ', 2));
    fanout.flush();
    expect(all.deliveries.map(prices)).toEqual([['prices:AAPL=1', 'prices:ZZZ=2']]);
  });

  test('unsubscribing drops pending ticks the target no longer receives', () => {
    const target = fakeTarget();
    fanout.subscribe(target, 'AAPL');
    fanout.subscribe(target, ALL_SYMBOLS);
    fanout.publish(tick('AAPL', 1));
    fanout.publish(tick('MSFT', 2));
    fanout.unsubscribe(target, ALL_SYMBOLS);
    fanout.flush();
    expect(target.deliveries.map(prices)).toEqual([['prices:AAPL=1']]);
    fanout.unsubscribe(target, 'AAPL');
    fanout.publish(tick('AAPL', 3));
    fanout.flush();
    expect(target.deliveries).toHaveLength(1);
  });

  test('unsubscribing a symbol still covered by prices:* keeps its pending tick', () => {
    const target = fakeTarget();
    fanout.subscribe(target, 'AAPL');
    fanout.subscribe(target, ALL_SYMBOLS);
    fanout.publish(tick('AAPL', 1));
    fanout.unsubscribe(target, 'AAPL');
    fanout.flush();
    expect(target.deliveries.map(prices)).toEqual([['prices:AAPL=1']]);
  });

  test('discardPending drops what a snapshot superseded', () => {
    const target = fakeTarget();
    fanout.subscribe(target, 'AAPL');
    fanout.subscribe(target, 'MSFT');
    fanout.publish(tick('AAPL', 1));
    fanout.publish(tick('MSFT', 2));
    fanout.discardPending(target, 'AAPL');
    fanout.flush();
    expect(target.deliveries.map(prices)).toEqual([['prices:MSFT=2']]);
  });

  test('a removed target gets nothing more, pending included', () => {
    const target = fakeTarget();
    fanout.subscribe(target, 'AAPL');
    fanout.subscribe(target, ALL_SYMBOLS);
    fanout.publish(tick('AAPL', 1));
    fanout.remove(target);
    fanout.publish(tick('AAPL', 2));
    vi.advanceTimersByTime(FLUSH_MS);
    expect(target.deliveries).toEqual([]);
  });
});
