/**
 * The fan-out's guarantees with real sockets on 127.0.0.1, now that each frame is encoded once and
 * written as the same bytes to every subscriber:
 *
 * - stream events reach every subscriber exactly once and in order, also when many are published
 *   at once, and a replay joins live delivery with no gap and no duplicate while events keep coming;
 * - a client that stops reading is skipped for price ticks without holding back one that reads, and
 *   when it reads again it gets the latest value only, not a backlog, after every stream event it
 *   was owed;
 * - `/metrics` has the latency histograms: publish → socket write (stream and state) and replay time.
 */
import { describe, expect, test } from 'vitest';
import type { PriceTick } from '../../lib/wire/prices';
import type { ServerFrame, StateFrame } from '../../lib/wire/protocol';
import { onCleanup, serve as serveAndClose, useCleanups } from '../support/cleanups';
import { poll } from '../support/poll';
import { readMetric, type TestServer } from '../support/server';
import { connectAndGreet, type TestClient } from '../support/ws-client';

useCleanups();

function serve(options: Parameters<typeof serveAndClose>[0] = {}): Promise<TestServer> {
  return serveAndClose({ retention: { maxEvents: 100_000 }, ...options });
}

async function greet(server: TestServer, user: string): Promise<TestClient> {
  const { client } = await connectAndGreet(server.url, { token: await server.mintToken(user) });
  onCleanup(() => client.ws.terminate());
  return client;
}

const note = (n: number) => ({ title: `n${n}`, body: '', level: 'info' as const });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const statesOf = (frame: ServerFrame): StateFrame[] =>
  frame.t === 'state' ? [frame] : frame.t === 'batch' ? frame.frames.filter((f): f is StateFrame => f.t === 'state') : [];
const pricesOf = (client: TestClient, topic: string) =>
  client.received.flatMap(statesOf).filter((s) => s.topic === topic).map((s) => (s.value as PriceTick).price);

describe('stream events', () => {
  test('events published at once reach every subscriber exactly once, in order', async () => {
    const server = await serve();
    const readers = await Promise.all(Array.from({ length: 20 }, (_, i) => greet(server, `reader${i}`)));
    for (const reader of readers) expect(await reader.subscribe('news')).toMatchObject({ t: 'subscribed', recovery: 'fresh' });
    await Promise.all(range(1, 200).map((n) => server.server.publishEvent('news', note(n))));
    for (const reader of readers) {
      await reader.untilEvent('news', 200);
      expect(reader.events('news').map((e) => e.seq)).toEqual(range(1, 200));
    }
  });

  test('a replay joins live events with no gap and no duplicate while events keep being published', async () => {
    const server = await serve();
    for (let n = 1; n <= 2_500; n++) await server.server.publishEvent('news', note(n));
    const { epoch } = await server.server.eventLog.head('news');
    const readers = await Promise.all(Array.from({ length: 5 }, (_, i) => greet(server, `late${i}`)));
    const publishing = (async () => {
      for (let n = 2_501; n <= 2_800; n++) await server.server.publishEvent('news', note(n));
    })();
    const answers = await Promise.all(readers.map((reader) => reader.subscribe('news', { since: { epoch, seq: 0 } })));
    for (const answer of answers) expect(answer).toMatchObject({ t: 'subscribed', recovery: 'recovered', from: 1 });
    await publishing;
    for (const reader of readers) {
      await reader.untilEvent('news', 2_800);
      expect(reader.events('news').map((e) => e.seq)).toEqual(range(1, 2_800));
    }
  });
});

describe('a client that stops reading', () => {
  test('is skipped without holding back one that reads, then gets the latest price only, after every event it was owed', async () => {
    const server = await serve({ flushMs: 10 });
    for (let n = 1; n <= 500; n++) await server.server.publishEvent('news', { title: `n${n}`, body: 'x'.repeat(2_000), level: 'info' });
    const slow = await greet(server, 'slow');
    const fast = await greet(server, 'fast');
    for (const client of [slow, fast]) expect(await client.subscribe('prices:ACME')).toMatchObject({ t: 'subscribed' });

    // Stop reading, and ask for ten replays of about 1 MB each: more than the kernel's socket
    // buffers hold, so the server holds the rest and sees the client behind.
    slow.ws.pause();
    const replayed = async () => readMetric(await server.server.metricsText(), 'switchboard_events_replayed_total');
    for (let i = 0; i < 11; i++) {
      if (i > 0) slow.send({ t: 'unsubscribe', topic: 'news' });
      const before = await replayed();
      slow.send({ t: 'subscribe', topic: 'news', last: 500 });
      await poll(`replay ${i} to be sent`, async () => (await replayed()) >= before + 500);
    }

    const prices = range(1, 30).map((n) => 100 + n);
    for (const price of prices) {
      await server.publishPrice('ACME', price);
      await fast.until((f) => statesOf(f).some((s) => (s.value as PriceTick).price === price));
    }
    expect(pricesOf(fast, 'prices:ACME')).toEqual(prices);

    slow.ws.resume();
    await slow.until((f) => statesOf(f).some((s) => (s.value as PriceTick).price === prices.at(-1)));
    expect(pricesOf(slow, 'prices:ACME')).toEqual([prices.at(-1)]);
    // Its replays were written in full before: the last one (500 events) ends where the log does.
    const subscribedAgain = slow.received.filter((f) => f.t === 'subscribed' && f.topic === 'news');
    expect(subscribedAgain).toHaveLength(11);
    await slow.untilEvent('news', 500);
    const events = slow.events('news');
    expect(events).toHaveLength(11 * 500);
    expect(events.slice(-500).map((e) => e.seq)).toEqual(range(1, 500));
  });
});

describe('metrics', () => {
  test('publish → write latency (stream and state) and stream replay time are histograms in /metrics', async () => {
    const server = await serve();
    const client = await greet(server, 'watcher');
    await server.server.publishEvent('news', note(1));
    await client.subscribe('news', { last: 1 });
    await client.subscribe('prices:ACME');
    await server.server.publishEvent('news', note(2));
    await client.untilEvent('news', 2);
    await server.publishPrice('ACME', 10);
    await client.nextOf('state');
    const text = await server.server.metricsText();
    expect(text).toContain('# TYPE switchboard_publish_to_write_seconds histogram');
    expect(text).toContain('# TYPE switchboard_stream_replay_seconds histogram');
    expect(readMetric(text, 'switchboard_publish_to_write_seconds_count', { mode: 'stream' })).toBe(1);
    expect(readMetric(text, 'switchboard_publish_to_write_seconds_count', { mode: 'state' })).toBe(1);
    expect(readMetric(text, 'switchboard_publish_to_write_seconds_bucket', { mode: 'state', le: '+Inf' })).toBe(1);
    expect(readMetric(text, 'switchboard_stream_replay_seconds_count')).toBe(1);
    expect(readMetric(await server.server.metricsText(), 'switchboard_frames_sent_total', { type: 'event' })).toBeGreaterThanOrEqual(2);
  });
});
