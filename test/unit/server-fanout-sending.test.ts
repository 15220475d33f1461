/**
 * The tick fan-out with fake timers, sending and throttling: what is pending is kept per topic, a
 * topic sends at once when it is idle (the next turn, not after a timer) and at most once per
 * `flushMs` (nothing at `flushMs - 1` after its last send, the latest value at `flushMs`), a topic
 * whose sends take long rests in proportion, and each send is encoded once and written to every
 * subscriber as the same bytes.
 */
import { describe, expect, test, vi } from 'vitest';
import { ALL_SYMBOLS } from '../../server/prices/fanout';
import { deliveries, fakeTarget, fanout, FLUSH_MS, nextTurn, prepared, tick, useFanoutHarness, type FakeTarget } from '../support/price-fanout';

useFanoutHarness();

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
