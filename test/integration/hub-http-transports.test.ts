/**
 * The real hub core over the server's HTTP transports (streaming and long polling) against the
 * real server on 127.0.0.1, through a TCP proxy the test unplugs to cut the connection: the hub
 * connects and names its transport, prices flow, notifications published while it was away are
 * recovered from its cursor once and in order, and an alert created while away is applied once.
 * A poll answer lost on the way is noticed and recovered from, leaving no gap. Also: with
 * WebSocket blocked, the hub steps down to streaming by itself. Assertions wait for
 * events, never for an amount of time.
 */
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, test } from 'vitest';
import type { FeedEntry } from '../../lib/rpc/feed-entry';
import type { HttpTransportName, HubStatus } from '../../lib/rpc/hub-api';
import type { PriceTick } from '../../lib/wire/prices';
import { describeStatus } from '../../components/status-text';
import { openHub, type Hub, type HubOptions } from '../../worker/core/hub';
import { systemClock, type HubPlatform, type SocketLike } from '../../worker/core/platform';
import { onCleanup, serve, until, useCleanups } from '../support/cleanups';
import { createFakeNetwork, createMemorySettingsStore, createRecordingLogger } from '../support/fake-socket';
import { crossing } from '../support/outbox-browser';
import { startHttpProxy } from '../support/http-proxy';
import { startTcpProxy } from '../support/tcp-proxy';

useCleanups();

/** A WebSocket that a proxy refuses: it closes without ever opening, as a blocked upgrade does. */
function blockedWebSocket(): SocketLike {
  const socket: SocketLike = {
    binaryType: 'arraybuffer',
    readyState: 0,
    send: () => {
      throw new Error('not open');
    },
    close: () => {},
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
  };
  setTimeout(() => socket.onclose?.({ code: 1006, reason: '' }), 0);
  return socket;
}

async function startHub(
  serverUrl: string,
  token: string,
  options: Readonly<Partial<HubOptions>>,
  indexedDB = new IDBFactory(),
  platform: Readonly<Partial<HubPlatform>> = {},
): Promise<Hub> {
  const hub = await openHub(
    {
      openSocket: blockedWebSocket,
      fetch: (url, init) => fetch(url, init),
      clock: systemClock,
      random: Math.random,
      network: createFakeNetwork(true),
      settings: createMemorySettingsStore({ serverUrl, token }),
      indexedDB,
      log: createRecordingLogger(),
      ...platform,
    },
    { backoffBaseMs: 50, backoffCapMs: 200, outbox: { ackTimeoutMs: 2000, retry: { baseMs: 50, capMs: 200 } }, ...options },
  );
  onCleanup(() => hub.close());
  return hub;
}

const titleOf = (entry: FeedEntry): string => (entry.kind === 'notification' ? entry.title : entry.kind);

const openOn = (hub: Hub) => () => {
  const status = hub.status();
  return status.s === 'open' && status;
};

describe.each(['streaming', 'long polling'] as const)('the hub over %s', (transport: HttpTransportName) => {
  test('connects and names the transport, prices flow, a cut is recovered from the cursor once and in order, and the outbox applies once', async () => {
    const server = await serve();
    const proxy = await startTcpProxy({ port: server.port });
    onCleanup(() => proxy.close());
    const token = await server.mintToken('ann');
    const hub = await startHub(proxy.url, token, { transports: { only: transport } });

    const open = await until('open', openOn(hub));
    expect(open.transport).toBe(transport);
    expect(describeStatus(open as HubStatus, Date.now())).toBe(`Connected (${transport})`);

    const session = hub.openSession();
    const updates: unknown[] = [];
    await session.listen({ status: () => {}, updates: (batch) => void updates.push(...batch) });
    await session.subscribe(['prices:AAPL']);
    await server.publishPrice('AAPL', 123);
    await until('the price', () => updates.find((u) => (u as { value?: PriceTick }).value?.price === 123));

    await server.publishNotification('ann', { title: 'n1', body: 'b' });
    await until('n1 in the feed', async () => (await session.feed()).entries.length === 1);

    proxy.unplug();
    await until('the hub to notice the cut', () => hub.status().s !== 'open');
    await server.publishNotification('ann', { title: 'n2', body: 'b' });
    await server.publishNotification('ann', { title: 'n3', body: 'b' });
    const created = await session.createAlert(crossing(150));
    if (!created.ok) throw new Error(created.error.message);

    proxy.plug();
    const again = await until('open again', openOn(hub));
    expect(again.session).not.toBe(open.session);
    expect(again.transport).toBe(transport);
    await until('n2 and n3 recovered', async () => (await session.feed()).entries.length === 3);
    expect((await session.feed()).entries.map(titleOf)).toEqual(['n3', 'n2', 'n1']);
    await until('the alert active', async () => (await session.alerts()).find((a) => a.id === created.value.id)?.state === 'active');
    expect((await server.alerts('ann')).map((a) => a.id)).toEqual([created.value.id]);

    await server.publishNotification('ann', { title: 'n4', body: 'b' });
    await until('n4 live', async () => (await session.feed()).entries.length === 4);
    expect((await session.feed()).entries.map(titleOf)).toEqual(['n4', 'n3', 'n2', 'n1']);
  });
});

test('a poll answer lost on the way (a proxy retried the poll) is noticed: the hub opens a new session and recovers, with no gap', async () => {
  const server = await serve();
  const proxy = await startHttpProxy({ port: server.port });
  onCleanup(() => proxy.close());
  const hub = await startHub(proxy.url, await server.mintToken('dee'), { transports: { only: 'long polling' } });
  const open = await until('open', openOn(hub));
  const session = hub.openSession();
  await server.publishNotification('dee', { title: 'n1', body: 'b' });
  await until('n1 in the feed', async () => (await session.feed()).entries.length === 1);

  // The answer carrying n2 is lost; the poll sent again in its place waits for n3.
  proxy.retryNextPoll();
  await server.publishNotification('dee', { title: 'n2', body: 'b' });
  await until('the answer lost', () => proxy.counts().lost === 1);
  await server.publishNotification('dee', { title: 'n3', body: 'b' });

  const again = await until('open on a new session', () => {
    const status = hub.status();
    return status.s === 'open' && status.session !== open.session && status;
  });
  expect(again.transport).toBe('long polling');
  await until('n2 and n3', async () => (await session.feed()).entries.length >= 3);
  // Recovered from the cursor: each once, in order, and no gap marker where n2 was lost.
  expect((await session.feed()).entries.map(titleOf)).toEqual(['n3', 'n2', 'n1']);
});

describe('choosing the transport', () => {
  test('with WebSocket blocked and plain HTTP working, the hub steps down to streaming by itself', async () => {
    const server = await serve();
    const token = await server.mintToken('bob');
    const hub = await startHub(server.url, token, { transports: { wsFailuresBeforeFallback: 2 } });
    const open = await until('open', openOn(hub));
    expect(open.transport).toBe('streaming');
    const session = hub.openSession();
    await server.publishNotification('bob', { title: 'hello', body: 'b' });
    await until('the notification', async () => (await session.feed()).entries.length === 1);
  });

  test('when the network comes back, the hub on streaming tries WebSocket at once (still blocked here), then streams again', async () => {
    const server = await serve();
    const network = createFakeNetwork(true);
    let upgrades = 0;
    const counted = (): SocketLike => {
      upgrades += 1;
      return blockedWebSocket();
    };
    const hub = await startHub(server.url, await server.mintToken('eve'), { transports: { wsFailuresBeforeFallback: 2 } }, undefined, { network, openSocket: counted });
    expect((await until('open', openOn(hub))).transport).toBe('streaming');
    const before = upgrades;
    network.set(false);
    await until('offline', () => hub.status().s === 'offline');
    network.set(true);
    const again = await until('open again', openOn(hub));
    expect(again.transport).toBe('streaming');
    // Well inside the 60 s probe interval: only the network's return can have asked for it.
    expect(upgrades).toBe(before + 1);
  });

  test('a hub started again in the same profile remembers that streaming worked, and starts on it', async () => {
    const server = await serve();
    const token = await server.mintToken('cy');
    const profile = new IDBFactory();
    const first = await startHub(server.url, token, { transports: { wsFailuresBeforeFallback: 2 } }, profile);
    expect((await until('open', openOn(first))).transport).toBe('streaming');
    await first.idle();
    first.close();
    // So many failures needed that only the remembered record can put it on streaming.
    const second = await startHub(server.url, token, { transports: { wsFailuresBeforeFallback: 1000 } }, profile);
    expect((await until('open again', openOn(second))).transport).toBe('streaming');
  });
});
