/**
 * The tick fan-out with fake timers, its targets: a target whose socket is behind is skipped and,
 * once drained, gets only the latest value of each symbol it missed, without holding back the
 * others; the symbol and `prices:*` indexes and snapshots; and, over a seeded random schedule, that
 * every target ends on the latest price and never gets an older one after a newer one.
 */
import { describe, expect, test, vi } from 'vitest';
import type { PriceTick } from '../../lib/wire/prices';
import { ALL_SYMBOLS } from '../../server/prices/fanout';
import { deliveries, errors, fakeTarget, fanout, FLUSH_MS, MAX_BUFFERED, nextTurn, prepared, statesIn, tick, useFanoutHarness } from '../support/price-fanout';
import { seededRandom } from '../support/random';

useFanoutHarness();

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
