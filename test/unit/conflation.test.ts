import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { StateUpdate, TopicUpdate } from '../../lib/rpc/hub-api';
import { createConflatingSink } from '../../worker/core/sessions/conflation';

const state = (topic: string, value: number): StateUpdate => ({ kind: 'state', topic, value, at: value });

/** A view whose `updates()` stays pending until the test finishes it. */
function slowView() {
  const batches: TopicUpdate[][] = [];
  const pending: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  const deliver = (batch: readonly TopicUpdate[]) =>
    new Promise<void>((resolve, reject) => {
      batches.push([...batch]);
      pending.push({ resolve, reject });
    });
  /** The view is done with the oldest delivery in flight (or it failed). */
  const finish = (how: 'resolve' | 'reject' = 'resolve') => {
    const next = pending.shift();
    if (!next) throw new Error('no delivery in flight');
    if (how === 'resolve') next.resolve();
    else next.reject(new Error('view gone'));
  };
  return { batches, deliver, finish, inFlight: () => pending.length };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Runs every callback still pending, promise reactions and timers: whatever the sink would deliver now has been. */
const runPending = () => vi.runAllTimersAsync();

const values = (batch: readonly TopicUpdate[] | undefined) =>
  batch?.map((update) => {
    switch (update.kind) {
      case 'state':
        return `${update.topic}=${String(update.value)}`;
      case 'error':
        return `${update.topic}=${update.message}`;
      case 'feed':
        return `feed=${update.changed.map((entry) => `${entry.id}:${entry.read ? 'read' : 'unread'}`).join(',')};unread=${update.unread}`;
      case 'alerts':
        return `alerts=${update.alerts.map((alert) => `${alert.id}:${alert.state}`).join(',')}`;
    }
  });

describe('conflation on', () => {
  test('a slow view gets the latest value per topic, in order of first appearance, never a backlog', async () => {
    const view = slowView();
    const sink = createConflatingSink(view.deliver);
    sink.push(state('prices:AAPL', 1));
    await vi.waitFor(() => expect(values(view.batches[0])).toEqual(['prices:AAPL=1']));

    for (let i = 2; i <= 100; i++) {
      sink.push(state('prices:MSFT', 1000 + i));
      sink.push(state('prices:AAPL', i));
    }
    expect(sink.pending).toBe(2);
    await runPending();
    expect(view.batches).toHaveLength(1);

    view.finish();
    await vi.waitFor(() => expect(values(view.batches[1])).toEqual(['prices:MSFT=1100', 'prices:AAPL=100']));
    view.finish();
    await runPending();
    expect(view.batches).toHaveLength(2);
    expect(view.inFlight()).toBe(0);
  });

  test('updates pushed in one task go out as one batch', async () => {
    const view = slowView();
    const sink = createConflatingSink(view.deliver);
    sink.push(state('prices:AAPL', 1));
    sink.push(state('prices:MSFT', 2));
    sink.push(state('prices:AAPL', 3));
    await vi.waitFor(() => expect(values(view.batches[0])).toEqual(['prices:AAPL=3', 'prices:MSFT=2']));
  });

  test('error updates are queued, never conflated away', async () => {
    const view = slowView();
    const sink = createConflatingSink(view.deliver);
    sink.push(state('prices:AAPL', 1));
    await vi.waitFor(() => expect(view.inFlight()).toBe(1));
    sink.push({ kind: 'error', topic: 'prices:ZZZZ', code: 'unknown-topic', message: 'a' });
    sink.push({ kind: 'error', topic: 'prices:ZZZZ', code: 'unknown-topic', message: 'b' });
    view.finish();
    await vi.waitFor(() => expect(values(view.batches[1])).toEqual(['prices:ZZZZ=a', 'prices:ZZZZ=b']));
  });

  test('a synchronous deliver function works too', async () => {
    const got: string[][] = [];
    const sink = createConflatingSink((batch) => {
      got.push(values(batch) ?? []);
    });
    sink.push(state('a', 1));
    await vi.waitFor(() => expect(got).toHaveLength(1));
    sink.push(state('a', 2));
    sink.push(state('a', 3));
    await runPending();
    expect(got).toEqual([['a=1'], ['a=3']]);
  });

  test('alert lists are sent whole: only the newest one waiting goes', async () => {
    const view = slowView();
    const sink = createConflatingSink(view.deliver);
    const list = (state: 'pending sync' | 'active') => ({ kind: 'alerts' as const, alerts: [{ id: 'a', rule: { symbol: 'AAPL', condition: 'above' as const, price: 1, repeat: 'once' as const }, state }] });
    sink.push(state('prices:AAPL', 1));
    await vi.waitFor(() => expect(view.inFlight()).toBe(1));
    sink.push(list('pending sync'));
    sink.push(state('prices:AAPL', 2));
    sink.push(list('active'));
    view.finish();
    await vi.waitFor(() => expect(values(view.batches[1])).toEqual(['alerts=a:active', 'prices:AAPL=2']));
  });
});

describe('conflation off', () => {
  test('every update is queued, in order', async () => {
    const view = slowView();
    const sink = createConflatingSink(view.deliver, { conflate: false });
    sink.push(state('prices:AAPL', 1));
    await vi.waitFor(() => expect(view.inFlight()).toBe(1));
    for (let i = 2; i <= 5; i++) sink.push(state('prices:AAPL', i));
    expect(sink.pending).toBe(4);
    view.finish();
    await vi.waitFor(() => expect(values(view.batches[1])).toEqual(['prices:AAPL=2', 'prices:AAPL=3', 'prices:AAPL=4', 'prices:AAPL=5']));
  });
});

describe('failing views', () => {
  test('a rejecting view does not wedge the sink: the error is reported and the next batch goes', async () => {
    const view = slowView();
    const errors: unknown[] = [];
    const sink = createConflatingSink(view.deliver, { onError: (error) => errors.push(error) });
    sink.push(state('a', 1));
    await vi.waitFor(() => expect(view.inFlight()).toBe(1));
    sink.push(state('a', 2));
    view.finish('reject');
    await vi.waitFor(() => expect(view.batches).toHaveLength(2));
    expect(errors).toEqual([new Error('view gone')]);
    expect(values(view.batches[1])).toEqual(['a=2']);
    view.finish();
    sink.push(state('a', 3));
    await vi.waitFor(() => expect(values(view.batches[2])).toEqual(['a=3']));
  });

  test('a deliver function that throws, and an error reporter that throws, do not wedge it either', async () => {
    let calls = 0;
    const sink = createConflatingSink(
      () => {
        calls++;
        throw new Error('boom');
      },
      {
        onError: () => {
          throw new Error('reporter broken');
        },
      },
    );
    sink.push(state('a', 1));
    await vi.waitFor(() => expect(calls).toBe(1));
    sink.push(state('a', 2));
    await vi.waitFor(() => expect(calls).toBe(2));
  });

  test('close() drops what waits and delivers nothing more', async () => {
    const view = slowView();
    const sink = createConflatingSink(view.deliver);
    sink.push(state('a', 1));
    await vi.waitFor(() => expect(view.inFlight()).toBe(1));
    sink.push(state('a', 2));
    sink.close();
    sink.push(state('a', 3));
    view.finish();
    await runPending();
    expect(view.batches).toHaveLength(1);
  });

  test('drain() takes out what waits, conflated; the delivery in flight goes on and the sink stays open', async () => {
    const view = slowView();
    const sink = createConflatingSink(view.deliver);
    sink.push(state('a', 1));
    await vi.waitFor(() => expect(view.inFlight()).toBe(1));
    sink.push(state('a', 2));
    sink.push(state('b', 1));
    sink.push(state('a', 3));
    expect(values(sink.drain())).toEqual(['a=3', 'b=1']);
    expect(sink.pending).toBe(0);
    view.finish();
    await runPending();
    expect(view.batches).toHaveLength(1);
    sink.push(state('c', 1));
    await runPending();
    expect(values(view.batches[1])).toEqual(['c=1']);
  });

  test('a custom key makes a latest-only value (as the status pushes use)', async () => {
    const view = slowView();
    const sink = createConflatingSink<TopicUpdate>(view.deliver, { key: () => 'only' });
    sink.push(state('a', 1));
    await vi.waitFor(() => expect(view.inFlight()).toBe(1));
    sink.push(state('b', 2));
    sink.push(state('c', 3));
    view.finish();
    await vi.waitFor(() => expect(values(view.batches[1])).toEqual(['c=3']));
  });
});

describe('feed updates', () => {
  const note = (seq: number, read = false) => ({
    kind: 'notification' as const,
    id: `news/e1/${seq}`,
    topic: 'news',
    epoch: 'e1',
    seq,
    at: seq,
    title: `#${seq}`,
    body: '',
    level: 'info' as const,
    read,
  });
  const feed = (unread: number, ...changed: ReturnType<typeof note>[]): TopicUpdate => ({ kind: 'feed', changed, unread });

  test('waiting feed updates merge: every entry once, its latest version, the newest unread count', async () => {
    const view = slowView();
    const sink = createConflatingSink(view.deliver);
    sink.push(state('prices:AAPL', 1));
    await vi.waitFor(() => expect(view.inFlight()).toBe(1));
    sink.push(feed(1, note(1)));
    sink.push(state('prices:AAPL', 2));
    sink.push(feed(2, note(2)));
    sink.push(feed(1, note(1, true)));
    expect(sink.pending).toBe(2);
    view.finish();
    await vi.waitFor(() => expect(values(view.batches[1])).toEqual(['feed=news/e1/1:read,news/e1/2:unread;unread=1', 'prices:AAPL=2']));
  });

  test('with conflation off every feed update is queued as it came', async () => {
    const view = slowView();
    const sink = createConflatingSink(view.deliver, { conflate: false });
    sink.push(state('a', 1));
    await vi.waitFor(() => expect(view.inFlight()).toBe(1));
    sink.push(feed(1, note(1)));
    sink.push(feed(0, note(1, true)));
    view.finish();
    await vi.waitFor(() => expect(values(view.batches[1])).toEqual(['feed=news/e1/1:unread;unread=1', 'feed=news/e1/1:read;unread=0']));
  });
});
