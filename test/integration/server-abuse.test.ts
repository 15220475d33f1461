/**
 * What one signed-in user can make the server hold, tried against a real server on 127.0.0.1.
 *
 * - A subscribe to a topic the connection already holds is answered with `subscribed` and sends
 *   nothing again (no snapshot, no replay).
 * - A client that never reads while it keeps asking for the big topics (`prices:*`, its
 *   `alerts:<user>`, `news` with `last: 500`, re-subscribing and unsubscribing in turn) is closed
 *   with 1013 once its backlog passes the limit, and the server's memory grows by a bounded amount
 *   meanwhile (the unbounded server grew by hundreds of megabytes here).
 * - A flood of unique `send` ids keeps at most `maxClientMessageIdsPerUser` records of the user in
 *   the store, and refused messages leave none.
 */
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import { MAX_ALERTS_PER_USER } from '../../lib/wire/alerts';
import { CloseCode } from '../../lib/wire/close-codes';
import { newMessageId } from '../../lib/wire/ids';
import type { ClientFrame } from '../../lib/wire/protocol';
import { ALERTS_SQLITE_FILE } from '../../server/alerts/open-store';
import { onCleanup, serve, useCleanups } from '../support/cleanups';
import { poll } from '../support/poll';
import { readMetric, type TestServer } from '../support/server';
import { connectAndGreet, type TestClient } from '../support/ws-client';

useCleanups();

async function greet(server: TestServer, user = 'dev'): Promise<TestClient> {
  const { client } = await connectAndGreet(server.url, { token: await server.mintToken(user) });
  onCleanup(() => client.ws.terminate());
  return client;
}

/** Big topics: `symbols` prices, `user`'s most alerts with the longest notes, `news` events of ~`newsBytes`. */
async function fillTopics(server: TestServer, { symbols, news, newsBytes, user }: { symbols: number; news: number; newsBytes: number; user: string }): Promise<void> {
  for (let i = 0; i < symbols; i++) server.server.publishPrice(`S${String(i).padStart(4, '0')}`, 100 + i);
  for (let i = 0; i < news; i++) await server.server.publishEvent('news', { title: `news ${i}`, body: 'n'.repeat(newsBytes), level: 'info' });
  const owner = await greet(server, user);
  const acks = await Promise.all(
    Array.from({ length: MAX_ALERTS_PER_USER }, (_, i) =>
      owner.message('alert.create', { alertId: newMessageId(), rule: { symbol: 'S0000', condition: 'above', price: 101 + i, note: 'x'.repeat(200) } }),
    ),
  );
  expect(acks.filter((ack) => !ack.ok)).toEqual([]);
  await owner.close();
}

describe('subscribing again to a held topic', () => {
  test('answers subscribed and sends nothing it already sent: no snapshot, no replay', async () => {
    const server = await serve();
    await fillTopics(server, { symbols: 50, news: 20, newsBytes: 10, user: 'dev' });
    const client = await greet(server);
    expect(await client.subscribe('prices:*')).toMatchObject({ t: 'subscribed' });
    expect(await client.subscribe('alerts:dev')).toMatchObject({ t: 'subscribed' });
    expect(await client.subscribe('news', { last: 500 })).toMatchObject({ t: 'subscribed', recovery: 'fresh' });
    await client.untilEvent('news', 20);
    const before = client.received.length;

    for (const topic of ['prices:*', 'alerts:dev']) expect(await client.subscribe(topic)).toEqual({ t: 'subscribed', topic, mode: 'state' });
    const again = await client.subscribe('news', { last: 500 });
    expect(again).toMatchObject({ t: 'subscribed', recovery: 'recovered', position: { seq: 20 } });
    expect(again).not.toHaveProperty('from');
    // A later ordered answer: everything the subscribes caused has arrived before it.
    client.send({ t: 'ping', at: 7 });
    await client.nextOf('pong', (f) => f.at === 7);
    expect(client.received.slice(before).map((f) => f.t)).toEqual(['subscribed', 'subscribed', 'subscribed', 'pong']);

    // It is still subscribed: what changes next arrives once.
    await server.server.publishEvent('news', { title: 'next', body: '', level: 'info' });
    await client.untilEvent('news', 21);
    expect(client.events('news').map((e) => e.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
  });
});

describe('a client that never reads', () => {
  /** Server memory that a send backlog occupies: the heap and the buffers outside it. */
  const used = () => {
    const { heapUsed, external } = process.memoryUsage();
    return heapUsed + external;
  };
  const MiB = 1024 * 1024;
  /**
   * Generous: with the 16 MiB limit the growth measured about 30 MiB here; without a limit this
   * attack grew the server by over 200 MiB (and more with every round).
   */
  const GROWTH_BOUND = 100 * MiB;

  test('re-subscribing to the big topics is closed with 1013 once over the backlog limit, and memory growth stays bounded', async () => {
    // A long grace, so the client can still read the close frame behind its backlog afterwards.
    const server = await serve({ shutdownGraceMs: 60_000 });
    await fillTopics(server, { symbols: 1000, news: 500, newsBytes: 2000, user: 'abuser' });
    const abuser = await greet(server, 'abuser');
    const metric = async (name: string, labels?: Record<string, string>) => readMetric(await server.server.metricsText(), name, labels);
    const closedSlow = async () => (await metric('switchboard_connections_refused_total', { reason: 'slow-consumer' })) > 0;
    abuser.ws.pause();

    const baseline = used();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, used())), 5);
    onTestFinished(() => clearInterval(sampler));
    // Each round asks for every big topic again, held (the subscribe repeated) and afresh
    // (unsubscribed first): over 1 MB of snapshots and replays per round when all is sent. Each
    // round waits until the server has sent its replay of news (or closed the client), so the
    // server does the work of every round it takes.
    const ROUNDS = 150;
    const round: ClientFrame[] = [
      ...['prices:*', 'alerts:abuser', 'news'].map((topic): ClientFrame => ({ t: 'subscribe', topic, last: 500 })),
      ...['prices:*', 'alerts:abuser', 'news'].map((topic): ClientFrame => ({ t: 'unsubscribe', topic })),
      ...['prices:*', 'alerts:abuser', 'news'].map((topic): ClientFrame => ({ t: 'subscribe', topic, last: 500 })),
    ];
    let outcome: 'closed' | 'served' = 'served';
    for (let i = 0; i < ROUNDS && outcome === 'served'; i++) {
      const replayed = await metric('switchboard_events_replayed_total');
      for (const frame of round) abuser.send(frame);
      outcome = await poll(`round ${i} to be served or the abuser closed`, async () => {
        peak = Math.max(peak, used());
        if (await closedSlow()) return 'closed';
        return (await metric('switchboard_events_replayed_total')) >= replayed + 500 && 'served';
      });
    }
    clearInterval(sampler);
    const growth = peak - baseline;
    expect(growth, `the server's memory grew by ${Math.round(growth / MiB)} MiB`).toBeLessThan(GROWTH_BOUND);
    expect(outcome).toBe('closed');
    expect(server.server.connectionCount()).toBe(0);

    // Reading at last, the client finds the close behind what was queued: 1013, try again later.
    abuser.ws.resume();
    expect(await abuser.closed).toMatchObject({ code: CloseCode.tryAgainLater, reason: expect.stringMatching(/too slow/) });
  });
});

describe('a flood of unique send ids', () => {
  test('keeps at most maxClientMessageIdsPerUser records of the user; refused ones keep none', async () => {
    const BOUND = 50;
    const server = await serve({ store: 'sqlite', maxClientMessageIdsPerUser: BOUND });
    server.server.publishPrice('AAPL', 200);
    const client = await greet(server, 'flooder');
    const alertId = newMessageId();
    expect(await client.message('alert.create', { alertId, rule: { symbol: 'AAPL', condition: 'above', price: 210 } })).toMatchObject({ ok: true });

    const db = new DatabaseSync(join(server.dataDir, ALERTS_SQLITE_FILE), { readOnly: true });
    onTestFinished(() => db.close());
    const records = () => Number(db.prepare('SELECT COUNT(*) AS n FROM applied_messages WHERE user = ?').get('flooder')!.n);

    // Applied ones (pausing and resuming the alert) and refused ones (deleting unknown alerts), in
    // bursts the frame queue takes whole.
    let last: Promise<unknown> = Promise.resolve();
    for (let burst = 0; burst < 8; burst++) {
      for (let i = 0; i < 50; i++) {
        last = client.message('alert.pause', { alertId, paused: i % 2 === 0 });
        void client.message('alert.delete', { alertId: newMessageId() });
      }
      await last;
    }
    expect(records()).toBe(BOUND);
    // The newest are still answered from the record.
    const id = newMessageId();
    expect(await client.message('alert.pause', { alertId, paused: true }, id)).toMatchObject({ ok: true });
    expect(await client.message('alert.pause', { alertId, paused: false }, id)).toMatchObject({ ok: true });
    expect(await server.alerts('flooder')).toMatchObject([{ status: 'paused' }]);
    expect(records()).toBe(BOUND);
  });
});
