/**
 * `state` topics end to end: subscribe answers and snapshots, ticks published through the admin API
 * arriving at once while a topic is quiet and conflated when they come faster than the flush
 * interval, `prices:*` batches, unsubscribe, and unknown topics.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { PriceTick } from '../../lib/wire/prices';
import type { FrameOf, ServerFrame, StateFrame } from '../../lib/wire/protocol';
import { startTestServer, type TestServer } from '../support/server';
import { connectAndGreet, type TestClient } from '../support/ws-client';

const tickOf = (frame: StateFrame) => frame.value as PriceTick;
/** The state frames a frame carries: itself, or a batch's. */
const statesOfFrame = (frame: ServerFrame): StateFrame[] =>
  frame.t === 'state' ? [frame] : frame.t === 'batch' ? frame.frames.filter((s): s is StateFrame => s.t === 'state') : [];
/** Every state frame received so far, batches unpacked, in order. */
const statesOf = (client: TestClient) => client.received.flatMap(statesOfFrame);

async function subscribe(client: TestClient, topic: string): Promise<FrameOf<ServerFrame, 'subscribed'>> {
  client.send({ t: 'subscribe', topic });
  return client.nextOf('subscribed', (f) => f.topic === topic);
}

describe('with the default flush interval', () => {
  let server: TestServer;
  let client: TestClient;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());
  beforeEach(async () => {
    ({ client } = await connectAndGreet(server.url));
  });
  afterEach(() => client.close());

  test('subscribing to a symbol with a price answers subscribed, then the snapshot', async () => {
    await server.publishPrice('AAPL', 100);
    const published = await server.publishPrice('AAPL', 101.5);
    expect(published).toMatchObject({ topic: 'prices:AAPL', symbol: 'AAPL', price: 101.5, prev: 100 });
    expect(await subscribe(client, 'prices:AAPL')).toEqual({ t: 'subscribed', topic: 'prices:AAPL', mode: 'state' });
    const snapshot = await client.nextOf('state');
    expect(snapshot).toEqual({ t: 'state', topic: 'prices:AAPL', value: { symbol: 'AAPL', price: 101.5, prev: 100, at: published.at }, at: published.at });
  });

  test('subscribing to a symbol without a price answers subscribed and sends ticks as they come', async () => {
    await subscribe(client, 'prices:NEWCO');
    await server.publishPrice('NEWCO', 5);
    const state = await client.nextOf('state');
    expect(tickOf(state)).toMatchObject({ symbol: 'NEWCO', price: 5, prev: 5 });
  });

  test('several quick ticks of one symbol arrive conflated: the latest always arrives, never out of order', async () => {
    await subscribe(client, 'prices:TSLA');
    const prices = [200, 201, 202, 203, 204, 205];
    for (const price of prices) await server.publishPrice('TSLA', price);
    await client.next((f) => statesOfFrame(f).some((s) => tickOf(s).price === 205));
    const seen = statesOf(client).filter((s) => s.topic === 'prices:TSLA').map((s) => tickOf(s).price);
    expect(seen.at(-1)).toBe(205);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(new Set(seen).size).toBe(seen.length);
  });

  test('re-subscribing is idempotent: subscribed again, the snapshot not resent, ticks still arrive', async () => {
    await server.publishPrice('IBM', 210);
    await subscribe(client, 'prices:IBM');
    await client.nextOf('state');
    await subscribe(client, 'prices:IBM');
    await server.publishPrice('IBM', 211);
    // The next state is the new tick: the snapshot (210) was not sent again.
    expect(tickOf(await client.nextOf('state'))).toMatchObject({ symbol: 'IBM', price: 211 });
  });

  test('prices:* sends every known price as one batch, then ticks of every symbol', async () => {
    await server.publishPrice('KO', 60);
    await server.publishPrice('DIS', 90);
    await subscribe(client, 'prices:*');
    const snapshot = await client.nextOf('batch');
    const symbols = snapshot.frames.map((f) => (f.t === 'state' ? tickOf(f).symbol : ''));
    expect(symbols).toEqual(expect.arrayContaining(['KO', 'DIS']));
    expect(snapshot.frames).toHaveLength(symbols.length);
    await server.publishPrice('ZZZ', 1.25);
    const state = await client.next((f) => statesOfFrame(f).some((s) => tickOf(s).symbol === 'ZZZ'));
    expect(statesOfFrame(state).find((s) => tickOf(s).symbol === 'ZZZ')?.topic).toBe('prices:ZZZ');
  });

  test('unsubscribe answers unsubscribed and stops the ticks', async () => {
    await subscribe(client, 'prices:AMD');
    await subscribe(client, 'prices:INTC');
    client.send({ t: 'unsubscribe', topic: 'prices:AMD' });
    expect(await client.nextOf('unsubscribed')).toEqual({ t: 'unsubscribed', topic: 'prices:AMD' });
    await server.publishPrice('AMD', 150);
    await server.publishPrice('INTC', 20);
    // INTC was published after AMD; once it arrives, an AMD tick would have arrived too.
    await client.next((f) => statesOfFrame(f).some((s) => s.topic === 'prices:INTC'));
    expect(statesOf(client).filter((s) => s.topic === 'prices:AMD')).toEqual([]);
  });

  test.each([
    ['an undefined family', 'weather:paris'],
    ['a lower-case symbol', 'prices:aapl'],
    ['a feed with an invalid user name', 'feed:no spaces'],
    ['a feed without a user', 'feed:'],
  ])('%s gets an unknown-topic error naming the topic', async (_name, topic) => {
    client.send({ t: 'subscribe', topic });
    const error = await client.nextOf('error');
    expect(error).toMatchObject({ code: 'unknown-topic', topic });
    expect(error.message).toContain(topic);
  });
});

describe('with flushes driven by the test', () => {
  let server: TestServer;
  beforeAll(async () => {
    // The longest flush interval: within a test, only `server.flush()` delivers ticks.
    server = await startTestServer({ flushMs: 10_000 });
  });
  afterAll(() => server.close());

  test('a quiet topic sends a tick at once; ticks within flushMs of it are conflated to the latest', async () => {
    const { client } = await connectAndGreet(server.url);
    await subscribe(client, 'prices:NVDA');
    await subscribe(client, 'prices:META');
    // Not held back by the 10 s interval: the topic had not sent yet.
    await server.publishPrice('NVDA', 120);
    expect(tickOf(await client.nextOf('state'))).toMatchObject({ symbol: 'NVDA', price: 120 });
    for (const price of [121, 122]) await server.publishPrice('NVDA', price);
    // Topics are conflated each on its own: META had not sent, so it goes at once too.
    await server.publishPrice('META', 500);
    expect(tickOf(await client.nextOf('state'))).toMatchObject({ symbol: 'META', price: 500 });
    server.server.flush();
    expect(tickOf(await client.nextOf('state'))).toMatchObject({ symbol: 'NVDA', price: 122, prev: 121 });
    expect(statesOf(client).map((s) => tickOf(s).price)).toEqual([120, 500, 122]);
    await client.close();
  });

  test('prices:* sends what one interval conflated as one batch, the latest value per topic', async () => {
    const { client } = await connectAndGreet(server.url);
    await subscribe(client, 'prices:*');
    await server.publishPrice('ORCL', 150);
    const first = await client.next((f) => statesOfFrame(f).some((s) => tickOf(s).symbol === 'ORCL' && tickOf(s).price === 150));
    expect(first.t).toBe('state');
    for (const price of [151, 152]) await server.publishPrice('ORCL', price);
    await server.publishPrice('AMZN', 180);
    server.server.flush();
    const batch = await client.nextOf('batch', (f) => f.frames.some((s) => s.t === 'state' && tickOf(s).symbol === 'AMZN'));
    expect(batch.frames.map((f) => (f.t === 'state' ? [tickOf(f).symbol, tickOf(f).price] : null))).toEqual([
      ['ORCL', 152],
      ['AMZN', 180],
    ]);
    await client.close();
  });

  test('a symbol subscribed both directly and through prices:* is delivered once per flush', async () => {
    const { client } = await connectAndGreet(server.url);
    await subscribe(client, 'prices:V');
    await subscribe(client, 'prices:*');
    await client.nextOf('batch');
    await server.publishPrice('V', 280);
    server.server.flush();
    const frame = await client.nextOf('state');
    expect(tickOf(frame)).toMatchObject({ symbol: 'V', price: 280 });
    await client.close();
  });

  test('ticks count in metrics', async () => {
    const before = await server.metric('switchboard_price_ticks_total');
    await server.publishPrice('JPM', 210);
    expect(await server.metric('switchboard_price_ticks_total')).toBe(before + 1);
  });
});
