/**
 * A hidden view takes no updates: `pause()` on its session stops the hub sending it state values,
 * alert lists, feed entries and statuses (only the feed's unread count still comes, for a tab's
 * title), and `resume()` catches it up from the hub's cache. The hub over a fake socket, with a
 * second, visible view as the witness that every update was delivered: what the hidden view was sent
 * is read only after the witness got a later update, so "nothing" is not merely "not yet".
 */
import { describe, expect, test } from 'vitest';
import type { HubListener, HubStatus, TopicUpdate } from '../../lib/rpc/hub-api';
import { CloseCode } from '../../lib/wire/close-codes';
import { waitUntil } from '../support/fake-socket';
import { connect, ev, freshStart, start } from '../support/feed-hub';
import { useHubHarness } from '../support/hub-harness';

useHubHarness();

const tick = (symbol: string, price: number) => ({ symbol, price, prev: price, at: 1 });

function recorder() {
  const statuses: HubStatus[] = [];
  const updates: TopicUpdate[] = [];
  const listener: HubListener = {
    status: (status) => void statuses.push(status),
    updates: (batch) => void updates.push(...batch),
  };
  const prices = () => updates.flatMap((update) => (update.kind === 'state' ? [(update.value as { price: number }).price] : []));
  return { listener, statuses, updates, prices };
}

async function twoViews() {
  const started = await start();
  const { hub, socket } = started;
  await connect(hub, socket());
  await freshStart(hub, socket());
  const hidden = recorder();
  const shown = recorder();
  const a = hub.openSession();
  const b = hub.openSession();
  await a.listen(hidden.listener);
  await b.listen(shown.listener);
  await a.subscribe(['prices:*']);
  await b.subscribe(['prices:*']);
  return { ...started, a, b, hidden, shown };
}

describe('a paused view', () => {
  test('gets no state values, alert lists or feed entries, only the unread count; the visible view gets all', async () => {
    const { socket, a, hidden, shown } = await twoViews();
    socket().receive({ t: 'state', topic: 'prices:AAPL', value: tick('AAPL', 100), at: 1 });
    await waitUntil('the price in both views', () => hidden.prices().length === 1 && shown.prices().length === 1);

    await a.pause();
    hidden.updates.length = 0;
    socket().receive({ t: 'state', topic: 'prices:AAPL', value: tick('AAPL', 101), at: 2 });
    socket().receive({ t: 'state', topic: 'prices:MSFT', value: tick('MSFT', 400), at: 2 });
    socket().receive({ t: 'state', topic: 'alerts:ann', value: [], at: 2 });
    socket().receive(ev('feed:ann', 'f1', 1));
    await waitUntil('the notification in the visible view', () =>
      shown.updates.some((update) => update.kind === 'feed' && update.changed.length === 1),
    );
    expect(shown.prices()).toEqual([100, 101, 400]);
    // Sent after the prices and the alert list: had they reached the hidden view, they would be here.
    await waitUntil('the unread count in the hidden view', () => hidden.updates.length > 0);
    expect(hidden.updates).toEqual([{ kind: 'feed', changed: [], unread: 1 }]);
  });

  test('gets no status while paused; on resume the current status and the latest cached values, not their history', async () => {
    const { socket, a, hidden, shown, hub } = await twoViews();
    await a.pause();
    const heard = hidden.statuses.length;
    socket().receive({ t: 'state', topic: 'prices:AAPL', value: tick('AAPL', 101), at: 2 });
    socket().receive({ t: 'state', topic: 'prices:AAPL', value: tick('AAPL', 102), at: 3 });
    socket().receive({ t: 'state', topic: 'prices:MSFT', value: tick('MSFT', 400), at: 3 });
    socket().serverClose(CloseCode.abnormal);
    await waitUntil('the visible view to hear the socket closed', () => shown.statuses.at(-1)?.s === 'waiting');
    expect(shown.prices().slice(-2)).toEqual([102, 400]);
    expect(hidden.statuses).toHaveLength(heard);
    expect(hidden.prices()).toEqual([]);

    await a.resume();
    await waitUntil('the catch-up in the resumed view', () => hidden.prices().length === 2 && hidden.statuses.length > heard);
    expect(hidden.prices()).toEqual([102, 400]);
    expect(hidden.statuses.at(-1)).toEqual(hub.status());
  });

  test('a batch waiting for a busy view when it is paused is dropped, but for its unread count', async () => {
    const { hub, socket } = await start();
    await connect(hub, socket());
    await freshStart(hub, socket());
    const session = hub.openSession();
    const batches: TopicUpdate[][] = [];
    let release = (): void => {};
    await session.listen({
      status: () => {},
      updates: (batch) => {
        batches.push([...batch]);
        // The first delivery stays in flight until released: the next updates wait behind it.
        if (batches.length === 1) return new Promise<void>((done) => (release = done));
      },
    });
    await session.subscribe(['prices:AAPL']);
    socket().receive({ t: 'state', topic: 'prices:AAPL', value: tick('AAPL', 100), at: 1 });
    await waitUntil('the first batch in flight', () => batches.length === 1);
    socket().receive({ t: 'state', topic: 'prices:AAPL', value: tick('AAPL', 101), at: 2 });
    socket().receive(ev('feed:ann', 'f1', 1));
    await hub.idle();

    await session.pause();
    release();
    await waitUntil('the waiting batch, cut down', () => batches.length === 2);
    expect(batches[1]).toEqual([{ kind: 'feed', changed: [], unread: 1 }]);
  });

  test('pause and resume after close change nothing and send nothing', async () => {
    const { a, hidden } = await twoViews();
    a.close();
    const before = hidden.updates.length;
    await a.pause();
    await a.resume();
    expect(hidden.updates).toHaveLength(before);
  });
});
