/**
 * The transport-independent contract, written once and run over every transport (`/ws`, SSE
 * streaming, long polling): the handshake; stream events in order and exactly once; recovery from
 * a cursor (`recovered`, `trimmed`, `epoch changed`); client messages applied once, a repeated id
 * answered from the record; state conflation; token refresh without reconnecting. Each transport
 * brings only a way to open a client (`ContractClient`) against the real server this suite starts.
 * Every test uses a user of its own, so tests never see each other's feeds.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { newMessageId } from '../../lib/wire/ids';
import type { EventFrame, FrameOf, ServerFrame } from '../../lib/wire/protocol';
import type { PriceTick } from '../../lib/wire/prices';
import type { ContractClient } from './frame-inbox';
import { startTestServer, type TestServer } from './server';

/** Opens a client to the server at `url` (no `hello` yet). */
export type OpenClient = (url: string) => Promise<ContractClient>;

const seqsOf = (events: readonly EventFrame[]) => events.map((e) => e.seq);
const note = (n: number) => ({ title: `Notification ${n}`, body: `body ${n}` });
let users = 0;

export function describeTransportContract(transport: string, open: OpenClient): void {
  describe(`transport contract over ${transport}`, () => {
    let server: TestServer;
    let clients: ContractClient[] = [];
    // The log keeps 3 events per topic, so a cursor further back is `trimmed`.
    beforeAll(async () => {
      server = await startTestServer({ retention: { maxEvents: 3 } });
    });
    afterAll(() => server.close());
    afterEach(async () => {
      await Promise.all(clients.map((c) => c.close()));
      clients = [];
    });

    /** A fresh user and a client greeted as them. */
    async function greet(user = `u${++users}`): Promise<{ client: ContractClient; user: string; welcome: FrameOf<ServerFrame, 'welcome'> }> {
      const client = await open(server.url);
      clients.push(client);
      const welcome = await client.hello({ token: await server.mintToken(user) });
      return { client, user, welcome };
    }

    test('hello is answered by welcome with a session and the heartbeat interval', async () => {
      const { welcome } = await greet();
      expect(welcome).toMatchObject({ t: 'welcome', v: 1, session: expect.any(String), heartbeatMs: expect.any(Number) });
    });

    test('stream events arrive in order, exactly once', async () => {
      const { client, user } = await greet();
      expect(await client.subscribe(`feed:${user}`)).toMatchObject({ t: 'subscribed', recovery: 'fresh' });
      for (let i = 1; i <= 3; i++) await server.publishNotification(user, note(i));
      await client.untilEvent(`feed:${user}`, 3);
      expect(seqsOf(client.events(`feed:${user}`))).toEqual([1, 2, 3]);
    });

    test('events published while away are recovered from the cursor, once and in order', async () => {
      const { client, user } = await greet();
      await client.subscribe(`feed:${user}`);
      const first = await server.publishNotification(user, note(1));
      await client.untilEvent(`feed:${user}`, 1);
      await client.close();
      for (let i = 2; i <= 4; i++) await server.publishNotification(user, note(i));
      const again = (await greet(user)).client;
      const subscribed = await again.subscribe(`feed:${user}`, { since: { epoch: first.epoch, seq: 1 } });
      expect(subscribed).toMatchObject({ recovery: 'recovered', position: { epoch: first.epoch, seq: 4 } });
      await server.publishNotification(user, note(5));
      await again.untilEvent(`feed:${user}`, 5);
      expect(seqsOf(again.events(`feed:${user}`))).toEqual([2, 3, 4, 5]);
    });

    test('a cursor the log no longer reaches is trimmed, with the newest `last`', async () => {
      const { client, user } = await greet();
      const first = await server.publishNotification(user, note(1));
      for (let i = 2; i <= 6; i++) await server.publishNotification(user, note(i));
      const subscribed = await client.subscribe(`feed:${user}`, { since: { epoch: first.epoch, seq: 1 }, last: 2 });
      expect(subscribed).toMatchObject({ recovery: 'trimmed', position: { epoch: first.epoch, seq: 6 }, from: 5 });
      await client.untilEvent(`feed:${user}`, 6);
      expect(seqsOf(client.events(`feed:${user}`))).toEqual([5, 6]);
    });

    test('a cursor of an old epoch is epoch changed, then the new epoch from seq 1', async () => {
      const { client, user } = await greet();
      const old = await server.publishNotification(user, note(1));
      const { epoch } = await server.resetTopic(`feed:${user}`);
      await server.publishNotification(user, note(2));
      const subscribed = await client.subscribe(`feed:${user}`, { since: { epoch: old.epoch, seq: 1 }, last: 10 });
      expect(subscribed).toMatchObject({ recovery: 'epoch changed', position: { epoch, seq: 1 }, from: 1 });
      await client.untilEvent(`feed:${user}`, 1, epoch);
      expect(client.events(`feed:${user}`).map((e) => [e.epoch, e.seq])).toEqual([[epoch, 1]]);
    });

    test('a client message is applied once; a repeated id is answered from the record', async () => {
      const { client, user } = await greet();
      await server.publishPrice('AAPL', 200);
      const id = newMessageId();
      const body = { alertId: newMessageId(), rule: { symbol: 'AAPL', condition: 'above', price: 300 } };
      const ack = await client.message('alert.create', body, id);
      expect(ack).toMatchObject({ t: 'ack', id, ok: true });
      expect(await client.message('alert.create', body, id)).toEqual(ack);
      expect(await client.message('alert.create', { ...body, alertId: newMessageId() }, id)).toEqual(ack);
      expect(await server.alerts(user)).toHaveLength(1);
    });

    test('a state topic sends its snapshot, then conflated ticks: the latest arrives, never out of order', async () => {
      const { client } = await greet();
      const symbol = `C${users}`;
      await server.publishPrice(symbol, 100);
      expect(await client.subscribe(`prices:${symbol}`)).toMatchObject({ t: 'subscribed', mode: 'state' });
      const prices = [101, 102, 103, 104, 105];
      for (const price of prices) await server.publishPrice(symbol, price);
      const ticks = () =>
        client.received
          .flatMap((f) => (f.t === 'batch' ? f.frames : [f]))
          .filter((f): f is FrameOf<ServerFrame, 'state'> => f.t === 'state' && f.topic === `prices:${symbol}`)
          .map((f) => (f.value as PriceTick).price);
      await client.until(() => ticks().includes(105));
      const seen = ticks();
      expect(seen[0]).toBe(100);
      expect(seen.at(-1)).toBe(105);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      expect(new Set(seen).size).toBe(seen.length);
    });

    test('refresh with a new token of the same user is answered refreshed; the session carries on', async () => {
      const { client, user } = await greet();
      client.send({ t: 'refresh', token: await server.mintToken(user) });
      expect(await client.nextOf('refreshed')).toMatchObject({ t: 'refreshed', user });
      await client.subscribe(`feed:${user}`);
      await server.publishNotification(user, note(1));
      await client.untilEvent(`feed:${user}`, 1);
    });
  });
}
