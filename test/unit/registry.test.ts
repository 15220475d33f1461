import { describe, expect, test } from 'vitest';
import type { TopicUpdate } from '../../lib/rpc/hub-api';
import { parseTopic, topicId, type ParsedTopic } from '../../lib/wire/topics';
import type { ClientFrame } from '../../lib/wire/protocol';
import { createRegistry } from '../../worker/core/sessions/registry';
import { createRecordingLogger } from '../support/fake-socket';

function topics(...names: string[]): ParsedTopic[] {
  return names.map((name) => {
    const parsed = parseTopic(name);
    if (!parsed) throw new TypeError(name);
    return parsed;
  });
}

/** The topic of a state or error update (the registry delivers no others). */
const topicOf = (update: TopicUpdate): string | undefined => ('topic' in update ? update.topic : undefined);

function tick(symbol: string, price: number, at = 1) {
  return { symbol, price, prev: price, at };
}

function setup(open = true) {
  const sent: ClientFrame[] = [];
  const log = createRecordingLogger();
  const link = { open };
  const registry = createRegistry({
    send: (frame) => {
      if (!link.open) return false;
      sent.push(frame);
      return true;
    },
    log,
    clock: { now: () => Date.now() },
  });
  const view = () => {
    const got: TopicUpdate[] = [];
    const membership = registry.join((update) => got.push(update));
    return { got, membership };
  };
  const price = (symbol: string, price: number, at = 1) =>
    registry.receive({ t: 'state', topic: `prices:${symbol}`, value: tick(symbol, price, at), at });
  return { registry, sent, log, link, view, price };
}

describe('reference counting', () => {
  test('two views on one topic → one subscribe; one leaves → no unsubscribe; the last leaves → unsubscribe', () => {
    const { sent, view } = setup();
    const a = view();
    const b = view();
    a.membership.subscribe(topics('prices:AAPL'));
    b.membership.subscribe(topics('prices:AAPL'));
    expect(sent).toEqual([{ t: 'subscribe', topic: 'prices:AAPL' }]);

    a.membership.unsubscribe([topicId('prices:AAPL')]);
    expect(sent).toHaveLength(1);

    b.membership.unsubscribe([topicId('prices:AAPL')]);
    expect(sent).toEqual([
      { t: 'subscribe', topic: 'prices:AAPL' },
      { t: 'unsubscribe', topic: 'prices:AAPL' },
    ]);
  });

  test('a view holding a topic twice holds it once', () => {
    const { sent, view } = setup();
    const a = view();
    a.membership.subscribe(topics('prices:AAPL', 'prices:AAPL'));
    a.membership.subscribe(topics('prices:AAPL'));
    a.membership.unsubscribe([topicId('prices:AAPL')]);
    expect(sent).toEqual([
      { t: 'subscribe', topic: 'prices:AAPL' },
      { t: 'unsubscribe', topic: 'prices:AAPL' },
    ]);
  });

  test('unsubscribing a topic not held sends nothing', () => {
    const { sent, view } = setup();
    const a = view();
    const b = view();
    b.membership.subscribe(topics('prices:AAPL'));
    a.membership.unsubscribe([topicId('prices:AAPL'), topicId('news')]);
    expect(sent).toEqual([{ t: 'subscribe', topic: 'prices:AAPL' }]);
  });

  test('leave() releases exactly that view’s topics', () => {
    const { sent, registry, view } = setup();
    const a = view();
    const b = view();
    a.membership.subscribe(topics('prices:AAPL', 'prices:MSFT'));
    b.membership.subscribe(topics('prices:MSFT'));
    a.membership.leave();
    expect(registry.topics()).toEqual(['prices:MSFT']);
    expect(sent.filter((frame) => frame.t === 'unsubscribe')).toEqual([{ t: 'unsubscribe', topic: 'prices:AAPL' }]);
  });

  test('while not open nothing is sent; every held topic goes out on open, once per topic', () => {
    const { sent, registry, view, link } = setup(false);
    const a = view();
    const b = view();
    a.membership.subscribe(topics('prices:AAPL', 'prices:*'));
    b.membership.subscribe(topics('prices:AAPL', 'prices:MSFT'));
    a.membership.subscribe(topics('prices:GOOG'));
    a.membership.unsubscribe([topicId('prices:GOOG')]);
    expect(sent).toEqual([]);
    link.open = true;
    registry.resubscribeAll();
    expect(sent).toEqual([
      { t: 'subscribe', topic: 'prices:AAPL' },
      { t: 'subscribe', topic: 'prices:*' },
      { t: 'subscribe', topic: 'prices:MSFT' },
    ]);
  });

  test('after a reconnect every topic is subscribed again', () => {
    const { sent, registry, view } = setup();
    view().membership.subscribe(topics('prices:AAPL', 'prices:MSFT'));
    sent.length = 0;
    registry.resubscribeAll();
    expect(sent).toEqual([
      { t: 'subscribe', topic: 'prices:AAPL' },
      { t: 'subscribe', topic: 'prices:MSFT' },
    ]);
  });
});

describe('delivery and the cache', () => {
  test('state values reach every holder, and only holders', () => {
    const { view, price } = setup();
    const a = view();
    const b = view();
    const c = view();
    a.membership.subscribe(topics('prices:AAPL'));
    b.membership.subscribe(topics('prices:AAPL'));
    c.membership.subscribe(topics('prices:MSFT'));
    price('AAPL', 101, 5);
    const expected = { kind: 'state', topic: 'prices:AAPL', value: tick('AAPL', 101, 5), at: 5 };
    expect(a.got).toEqual([expected]);
    expect(b.got).toEqual([expected]);
    expect(c.got).toEqual([]);
  });

  test('a late subscriber gets the cached latest value at once, without a second subscribe', () => {
    const { sent, view, price } = setup();
    view().membership.subscribe(topics('prices:AAPL'));
    price('AAPL', 100);
    price('AAPL', 102);
    const late = view();
    late.membership.subscribe(topics('prices:AAPL'));
    expect(late.got).toEqual([{ kind: 'state', topic: 'prices:AAPL', value: tick('AAPL', 102), at: 1 }]);
    expect(late.membership.cached()).toEqual(late.got);
    expect(sent).toHaveLength(1);
  });

  test('values for topics nobody holds are neither delivered nor cached', () => {
    const { view, price } = setup();
    const a = view();
    a.membership.subscribe(topics('prices:AAPL'));
    a.membership.unsubscribe([topicId('prices:AAPL')]);
    price('AAPL', 100);
    a.membership.subscribe(topics('prices:AAPL'));
    expect(a.got).toEqual([]);
  });

  test('the cache of a released topic is dropped: a new holder waits for the server snapshot', () => {
    const { view, price } = setup();
    const a = view();
    a.membership.subscribe(topics('prices:AAPL'));
    price('AAPL', 100);
    a.membership.leave();
    const b = view();
    b.membership.subscribe(topics('prices:AAPL'));
    expect(b.got).toEqual([]);
  });

  test('a batch frame is unpacked in order', () => {
    const { registry, view } = setup();
    const a = view();
    a.membership.subscribe(topics('prices:AAPL', 'prices:MSFT'));
    registry.receive({
      t: 'batch',
      frames: [
        { t: 'state', topic: 'prices:AAPL', value: tick('AAPL', 1), at: 1 },
        { t: 'state', topic: 'prices:MSFT', value: tick('MSFT', 2), at: 1 },
        { t: 'state', topic: 'prices:AAPL', value: tick('AAPL', 3), at: 2 },
      ],
    });
    expect(a.got.map((update) => update.kind === 'state' && update.value)).toEqual([
      tick('AAPL', 1),
      tick('MSFT', 2),
      tick('AAPL', 3, 1),
    ]);
  });
});

describe('the prices:* wildcard', () => {
  test('concrete price frames reach wildcard holders and concrete holders, once each', () => {
    const { view, price } = setup();
    const all = view();
    const apple = view();
    const both = view();
    all.membership.subscribe(topics('prices:*'));
    apple.membership.subscribe(topics('prices:AAPL'));
    both.membership.subscribe(topics('prices:*', 'prices:AAPL'));
    price('AAPL', 10);
    price('MSFT', 20);
    expect(all.got.map(topicOf)).toEqual(['prices:AAPL', 'prices:MSFT']);
    expect(apple.got.map(topicOf)).toEqual(['prices:AAPL']);
    expect(both.got.map(topicOf)).toEqual(['prices:AAPL', 'prices:MSFT']);
  });

  test('a new wildcard subscriber gets every cached price at once', () => {
    const { view, price } = setup();
    view().membership.subscribe(topics('prices:*'));
    price('AAPL', 10);
    price('MSFT', 20);
    price('AAPL', 11);
    const late = view();
    late.membership.subscribe(topics('prices:*'));
    expect(late.got.map((update) => update.kind === 'state' && update.value)).toEqual([tick('AAPL', 11), tick('MSFT', 20)]);
  });

  test('prices cached through the wildcard go when it is released, unless held directly', () => {
    const { view, price } = setup();
    const all = view();
    const apple = view();
    all.membership.subscribe(topics('prices:*'));
    apple.membership.subscribe(topics('prices:AAPL'));
    price('AAPL', 10);
    price('MSFT', 20);
    all.membership.leave();
    const late = view();
    late.membership.subscribe(topics('prices:AAPL', 'prices:MSFT'));
    expect(late.got.map(topicOf)).toEqual(['prices:AAPL']);
  });
});

describe('bad values from the server', () => {
  test.each([
    ['a negative price', 'prices:AAPL', tick('AAPL', -1)],
    ['a NaN price', 'prices:AAPL', tick('AAPL', Number.NaN)],
    ['an infinite price', 'prices:AAPL', tick('AAPL', Number.POSITIVE_INFINITY)],
    ['a price as text', 'prices:AAPL', { ...tick('AAPL', 1), price: '1' }],
    ['no value', 'prices:AAPL', null],
    ['a tick for another symbol', 'prices:AAPL', tick('MSFT', 1)],
    ['a state value on the wildcard itself', 'prices:*', tick('AAPL', 1)],
    ['a state value for an unknown topic', 'weather:paris', tick('AAPL', 1)],
    ['a state value for a stream topic', 'news', { headline: 'x' }],
  ])('%s is dropped and logged', (_name, topic, value) => {
    const { registry, view, log } = setup();
    const a = view();
    a.membership.subscribe(topics('prices:*', 'prices:AAPL', 'news'));
    expect(() => registry.receive({ t: 'state', topic, value, at: 1 })).not.toThrow();
    expect(a.got).toEqual([]);
    expect(log.warnings()).toHaveLength(1);
  });

  test('the tick is delivered as validated, without extra fields', () => {
    const { registry, view } = setup();
    const a = view();
    a.membership.subscribe(topics('prices:AAPL'));
    registry.receive({ t: 'state', topic: 'prices:AAPL', value: { ...tick('AAPL', 5), extra: 'x' }, at: 1 });
    expect(a.got).toEqual([{ kind: 'state', topic: 'prices:AAPL', value: tick('AAPL', 5), at: 1 }]);
  });

  test('a view whose delivery throws does not keep the update from the others', () => {
    const { registry, view, price } = setup();
    registry.join(() => {
      throw new Error('view gone');
    }).subscribe(topics('prices:AAPL'));
    const b = view();
    b.membership.subscribe(topics('prices:AAPL'));
    price('AAPL', 1);
    expect(b.got).toHaveLength(1);
  });
});

describe('alert lists', () => {
  const alert = { id: 'a1', rule: { symbol: 'AAPL', condition: 'above', price: 5, repeat: 'once' }, status: 'active', createdAt: 1, fireCount: 0 };

  test('a valid alerts:<user> value is cached and delivered; an invalid one is logged and dropped', () => {
    const { registry, view, log } = setup();
    const a = view();
    a.membership.subscribe(topics('alerts:ann'));
    registry.receive({ t: 'state', topic: 'alerts:ann', value: { alerts: [alert] }, at: 3 });
    registry.receive({ t: 'state', topic: 'alerts:ann', value: { alerts: [{ ...alert, status: 'gone' }] }, at: 4 });
    registry.receive({ t: 'state', topic: 'alerts:ann', value: { alerts: [{ ...alert, rule: { symbol: 'AAPL', condition: 'above', price: -1 } }] }, at: 5 });
    expect(a.got).toEqual([{ kind: 'state', topic: 'alerts:ann', value: { alerts: [alert] }, at: 3 }]);
    expect(log.warnings().map((entry) => entry.message)).toEqual(['ignored an invalid state value', 'ignored an invalid state value']);
    expect(a.membership.cached()).toEqual(a.got);
  });
});

describe('topic errors', () => {
  test('an error about a topic is logged and surfaced to its holders only', () => {
    const { registry, view, log } = setup();
    const a = view();
    const b = view();
    a.membership.subscribe(topics('prices:ZZZZ'));
    b.membership.subscribe(topics('prices:AAPL'));
    registry.receive({ t: 'error', code: 'unknown-topic', message: 'No such symbol: ZZZZ', topic: 'prices:ZZZZ' });
    expect(a.got).toEqual([{ kind: 'error', topic: 'prices:ZZZZ', code: 'unknown-topic', message: 'No such symbol: ZZZZ' }]);
    expect(b.got).toEqual([]);
    expect(log.warnings()).toMatchObject([{ message: 'server refused a topic', data: { topic: 'prices:ZZZZ' } }]);
  });

  test('subscribed, unsubscribed and events inside a batch do not crash or deliver', () => {
    const { registry, view } = setup();
    const a = view();
    a.membership.subscribe(topics('prices:AAPL'));
    registry.receive({ t: 'subscribed', topic: 'prices:AAPL', mode: 'state' });
    registry.receive({ t: 'batch', frames: [{ t: 'event', topic: 'news', epoch: 'e1', seq: 1, data: { title: 'x', body: '' }, at: 1 }] });
    registry.receive({ t: 'unsubscribed', topic: 'prices:AAPL', reason: 'forbidden' });
    expect(a.got).toEqual([]);
  });
});

describe('stream topics are the hub’s own', () => {
  test('holding feed or news sends nothing and lists no server subscription', () => {
    const { registry, sent, view } = setup();
    const a = view();
    a.membership.subscribe(topics('news', 'feed:dev', 'prices:AAPL'));
    a.membership.unsubscribe([topicId('news')]);
    registry.resubscribeAll();
    expect(sent).toEqual([
      { t: 'subscribe', topic: 'prices:AAPL' },
      { t: 'subscribe', topic: 'prices:AAPL' },
    ]);
    expect(registry.topics()).toEqual(['prices:AAPL']);
    a.membership.leave();
    expect(sent.at(-1)).toEqual({ t: 'unsubscribe', topic: 'prices:AAPL' });
  });
});
