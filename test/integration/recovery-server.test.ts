/**
 * Stream topics over the wire with the raw test client against a real server: `fresh` with the
 * newest `last`, events published while the client was away replayed exactly once and in order
 * (`recovered`), a log trimmed past the cursor (`trimmed`), a reset or foreign epoch (`epoch
 * changed`), a cursor from the future (refused, nothing changes), a reset while subscribed, and a
 * replay of 12,000 events with live events published during it arriving after it with no gap and
 * no duplicate.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { EventFrame } from '../../lib/wire/protocol';
import { startTestServer, type TestServer } from '../support/server';
import { connectAndGreet, eventsIn, type TestClient } from '../support/ws-client';

const seqsOf = (events: readonly EventFrame[]) => events.map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const note = (n: number) => ({ title: `Notification ${n}`, body: `body ${n}` });

let clients: TestClient[] = [];
async function greet(server: TestServer): Promise<TestClient> {
  const { client } = await connectAndGreet(server.url);
  clients.push(client);
  return client;
}
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
});

describe('recovery', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  test('no cursor: fresh at the head, then live events from seq 1', async () => {
    const client = await greet(server);
    const subscribed = await client.subscribe('feed:dev');
    expect(subscribed).toEqual({ t: 'subscribed', topic: 'feed:dev', mode: 'stream', recovery: 'fresh', position: { epoch: expect.any(String), seq: 0 } });
    if (subscribed.t !== 'subscribed') return;
    const published = await server.publishNotification('dev', { title: 'Hello', body: 'first', url: 'https://example.com/a' });
    expect(published).toEqual({ topic: 'feed:dev', epoch: subscribed.position!.epoch, seq: 1 });
    const event = await client.untilEvent('feed:dev', 1);
    expect(event).toEqual({
      t: 'event',
      topic: 'feed:dev',
      epoch: subscribed.position!.epoch,
      seq: 1,
      data: { title: 'Hello', body: 'first', level: 'info', url: 'https://example.com/a' },
      at: expect.any(Number),
    });
  });

  test('no cursor with last: fresh, then the newest `last` events in order, from says where they start', async () => {
    for (let i = 1; i <= 5; i++) await server.publishNews(note(i));
    const client = await greet(server);
    const subscribed = await client.subscribe('news', { last: 3 });
    expect(subscribed).toMatchObject({ recovery: 'fresh', position: { seq: 5 }, from: 3 });
    await client.untilEvent('news', 5);
    expect(seqsOf(client.events('news'))).toEqual([3, 4, 5]);
  });

  test('events published while disconnected arrive once, in order, with recovered; live ones follow', async () => {
    const first = await greet(server);
    const fresh = await first.subscribe('feed:dev', { last: 500 });
    if (fresh.t !== 'subscribed') throw new Error('not subscribed');
    const head = fresh.position!;
    await server.publishNotification('dev', note(100));
    const seen = await first.untilEvent('feed:dev', head.seq + 1);
    const cursor = { epoch: seen.epoch, seq: seen.seq };
    await first.close();

    const missed = [];
    for (let i = 0; i < 5; i++) missed.push(await server.publishNotification('dev', note(200 + i)));
    const again = await greet(server);
    const subscribed = await again.subscribe('feed:dev', { since: cursor, last: 50 });
    expect(subscribed).toEqual({
      t: 'subscribed',
      topic: 'feed:dev',
      mode: 'stream',
      recovery: 'recovered',
      position: { epoch: cursor.epoch, seq: cursor.seq + 5 },
      from: cursor.seq + 1,
    });
    await again.untilEvent('feed:dev', cursor.seq + 5);
    const live = await server.publishNotification('dev', note(300));
    await again.untilEvent('feed:dev', live.seq);
    const events = again.events('feed:dev');
    expect(seqsOf(events)).toEqual(range(cursor.seq + 1, cursor.seq + 6));
    expect(events.map((e) => e.data)).toEqual([...range(200, 204), 300].map((n) => ({ ...note(n), level: 'info' })));
    expect(events.every((e) => e.epoch === cursor.epoch)).toBe(true);
    expect(missed.map((m) => m.seq)).toEqual(range(cursor.seq + 1, cursor.seq + 5));
  });

  test('a cursor at the head recovers nothing and goes live', async () => {
    const head = await server.publishNews(note(1));
    const client = await greet(server);
    const subscribed = await client.subscribe('news', { since: { epoch: head.epoch, seq: head.seq }, last: 10 });
    expect(subscribed).toEqual({ t: 'subscribed', topic: 'news', mode: 'stream', recovery: 'recovered', position: { epoch: head.epoch, seq: head.seq } });
    const next = await server.publishNews(note(2));
    await client.untilEvent('news', next.seq);
    expect(seqsOf(client.events('news'))).toEqual([next.seq]);
  });

  test('a foreign epoch is epoch changed, with the newest `last` of the current one', async () => {
    await server.publishNews(note(8));
    const head = await server.publishNews(note(9));
    const client = await greet(server);
    const subscribed = await client.subscribe('news', { since: { epoch: 'an-epoch-from-elsewhere', seq: 2 }, last: 2 });
    expect(subscribed).toMatchObject({ recovery: 'epoch changed', position: { epoch: head.epoch, seq: head.seq }, from: head.seq - 1 });
    await client.untilEvent('news', head.seq);
    expect(seqsOf(client.events('news'))).toEqual([head.seq - 1, head.seq]);
  });

  test('a cursor from the future is refused as invalid, counted, and changes nothing', async () => {
    const head = await server.publishNotification('dev', note(1));
    const refusedBefore = await server.metric('switchboard_subscriptions_refused_total', { reason: 'invalid-cursor' });
    const client = await greet(server);
    const answer = await client.subscribe('feed:dev', { since: { epoch: head.epoch, seq: head.seq + 10 }, last: 5 });
    expect(answer).toMatchObject({ t: 'error', code: 'invalid', topic: 'feed:dev' });
    expect(answer.t === 'error' && answer.message).toMatch(new RegExp(`${head.seq + 10}.*ahead.*${head.seq}`));
    expect(await server.metric('switchboard_subscriptions_refused_total', { reason: 'invalid-cursor' })).toBe(refusedBefore + 1);
    // Not subscribed: a feed event published before a news event would arrive before it.
    await client.subscribe('news');
    await server.publishNotification('dev', note(2));
    const news = await server.publishNews(note(3));
    await client.untilEvent('news', news.seq);
    expect(client.events('feed:dev')).toEqual([]);
    expect(client.received.filter((f) => f.t === 'subscribed' && f.topic === 'feed:dev')).toEqual([]);
    expect((await server.server.eventLog.head('feed:dev')).seq).toBe(head.seq + 1);
  });

  test('subscriptions are counted by recovery outcome, replayed events too', async () => {
    const before = await server.metric('switchboard_stream_subscriptions_total', { recovery: 'recovered' });
    const replayedBefore = await server.metric('switchboard_events_replayed_total');
    const first = await server.publishNews(note(1));
    await server.publishNews(note(2));
    const client = await greet(server);
    await client.subscribe('news', { since: { epoch: first.epoch, seq: first.seq - 1 } });
    await client.untilEvent('news', first.seq + 1);
    expect(await server.metric('switchboard_stream_subscriptions_total', { recovery: 'recovered' })).toBe(before + 1);
    expect(await server.metric('switchboard_events_replayed_total')).toBe(replayedBefore + 2);
  });
});

describe('a log trimmed past the cursor', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ retention: { maxEvents: 3 } });
  });
  afterAll(() => server.close());

  test('answers trimmed with the newest `last`; from tells how many were lost', async () => {
    const first = await server.publishNotification('dev', note(1));
    for (let i = 2; i <= 6; i++) await server.publishNotification('dev', note(i)); // the log keeps 4, 5, 6
    const client = await greet(server);
    const subscribed = await client.subscribe('feed:dev', { since: { epoch: first.epoch, seq: 1 }, last: 2 });
    expect(subscribed).toEqual({
      t: 'subscribed',
      topic: 'feed:dev',
      mode: 'stream',
      recovery: 'trimmed',
      position: { epoch: first.epoch, seq: 6 },
      from: 5,
    });
    await client.untilEvent('feed:dev', 6);
    expect(seqsOf(client.events('feed:dev'))).toEqual([5, 6]);
    // A cursor the log still reaches is recovered in full.
    const other = await greet(server);
    expect(await other.subscribe('feed:dev', { since: { epoch: first.epoch, seq: 3 } })).toMatchObject({ recovery: 'recovered', from: 4 });
    await other.untilEvent('feed:dev', 6);
    expect(seqsOf(other.events('feed:dev'))).toEqual([4, 5, 6]);
  });
});

describe('epochs', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  test('after a reset, the old cursor gets epoch changed and the new epoch from seq 1', async () => {
    const old = await server.publishNotification('dev', note(1));
    await server.publishNotification('dev', note(2));
    const { epoch } = await server.resetTopic('feed:dev');
    expect(epoch).not.toBe(old.epoch);
    const a = await server.publishNotification('dev', note(3));
    await server.publishNotification('dev', note(4));
    expect(a).toEqual({ topic: 'feed:dev', epoch, seq: 1 });
    const client = await greet(server);
    const subscribed = await client.subscribe('feed:dev', { since: { epoch: old.epoch, seq: 2 }, last: 10 });
    expect(subscribed).toEqual({ t: 'subscribed', topic: 'feed:dev', mode: 'stream', recovery: 'epoch changed', position: { epoch, seq: 2 }, from: 1 });
    await client.untilEvent('feed:dev', 2, epoch);
    expect(client.events('feed:dev').map((e) => [e.epoch, e.seq])).toEqual([
      [epoch, 1],
      [epoch, 2],
    ]);
  });

  test('a reset while subscribed re-announces the subscription as epoch changed, then the new epoch follows', async () => {
    const client = await greet(server);
    const before = await client.subscribe('news');
    if (before.t !== 'subscribed') throw new Error('not subscribed');
    const { epoch } = await server.resetTopic('news');
    const announced = await client.nextOf('subscribed', (f) => f.topic === 'news');
    expect(announced).toEqual({ t: 'subscribed', topic: 'news', mode: 'stream', recovery: 'epoch changed', position: { epoch, seq: 0 } });
    const next = await server.publishNews(note(1));
    expect(next).toEqual({ topic: 'news', epoch, seq: 1 });
    await client.untilEvent('news', 1, epoch);
    expect(client.events('news').map((e) => e.epoch)).toEqual([epoch]);
  });
});

describe('a long replay', () => {
  const REPLAYED = 12_000;
  const LIVE = 300;
  let server: TestServer;
  beforeAll(async () => {
    // A small socket budget makes the replay wait for the socket to drain after each chunk, which
    // is when live events published meanwhile must be held back.
    server = await startTestServer({ retention: { maxEvents: 50_000 }, maxBufferedBytes: 16 * 1024 });
    for (let i = 1; i <= REPLAYED; i++) await server.server.publishEvent('feed:dev', { title: `bulk ${i}`, body: 'x'.repeat(40), level: 'info' });
  }, 60_000);
  afterAll(() => server.close());

  test('12,000 events replay in size-limited batches; live events published during it follow with no gap and no duplicate', async () => {
    const client = await greet(server);
    const { epoch } = await server.server.eventLog.head('feed:dev');
    const subscribed = await client.subscribe('feed:dev', { since: { epoch, seq: 0 } });
    expect(subscribed).toMatchObject({ recovery: 'recovered', position: { epoch, seq: REPLAYED }, from: 1 });
    let receivedWhenLiveStarted = -1;
    for (let i = 1; i <= LIVE; i++) {
      await server.server.publishEvent('feed:dev', { title: `live ${i}`, body: '', level: 'info' });
      if (i === 1) receivedWhenLiveStarted = client.events('feed:dev').length;
    }
    await client.untilEvent('feed:dev', REPLAYED + LIVE);
    // The live publishing really overlapped the replay.
    expect(receivedWhenLiveStarted).toBeLessThan(REPLAYED);
    const events = client.events('feed:dev');
    expect(seqsOf(events)).toEqual(range(1, REPLAYED + LIVE));
    expect(events.at(REPLAYED)?.data).toMatchObject({ title: 'live 1' });
    // Every frame passed the shared codec's 64 KiB limit on the way in, so the batches were sized to fit.
    expect(client.received.filter((f) => f.t === 'batch').length).toBeGreaterThan(10);
    expect(await server.metric('switchboard_events_replayed_total')).toBeGreaterThanOrEqual(REPLAYED);
  });

  test('unsubscribing while a replay runs: nothing of the topic follows unsubscribed, live events included', async () => {
    const client = await greet(server);
    const { epoch } = await server.server.eventLog.head('feed:dev');
    client.send({ t: 'subscribe', topic: 'feed:dev', since: { epoch, seq: 0 } });
    await client.untilEvent('feed:dev', 1);
    client.send({ t: 'unsubscribe', topic: 'feed:dev' });
    const unsubscribed = await client.nextOf('unsubscribed');
    await server.server.publishEvent('feed:dev', { title: 'after', body: '', level: 'info' });
    await client.subscribe('news');
    const news = await server.publishNews(note(1));
    await client.untilEvent('news', news.seq);
    const after = client.received.slice(client.received.indexOf(unsubscribed) + 1).flatMap((f) => eventsIn(f).filter((e) => e.topic === 'feed:dev'));
    expect(after).toEqual([]);
  });
});

describe('a client that stops reading during a replay', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ retention: { maxEvents: 50_000 }, maxBufferedBytes: 16 * 1024, drainTimeoutMs: 300, shutdownGraceMs: 20_000 });
    // ~12 MB: far more than the socket buffers of both ends can hold.
    for (let i = 1; i <= 4_000; i++) await server.server.publishEvent('feed:dev', { title: `big ${i}`, body: 'y'.repeat(3_000), level: 'info' });
  }, 60_000);
  afterAll(() => server.close());

  test('is closed with 1013 once the socket stays full past drainTimeoutMs, counted; what it got has no gap', async () => {
    const client = await greet(server);
    const { epoch } = await server.server.eventLog.head('feed:dev');
    client.send({ t: 'subscribe', topic: 'feed:dev', since: { epoch, seq: 0 } });
    await client.untilEvent('feed:dev', 1);
    client.ws.pause();
    await server.waitForMetric('switchboard_connections_refused_total', (n) => n === 1, { reason: 'slow-consumer' });
    client.ws.resume();
    expect(await client.closed).toEqual({ code: 1013, reason: 'client too slow for its stream events' });
    const seqs = seqsOf(client.events('feed:dev'));
    expect(seqs.length).toBeLessThan(4_000);
    expect(seqs).toEqual(range(1, seqs.length));
  });
});
