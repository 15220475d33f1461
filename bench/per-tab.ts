/**
 * The cost of open tabs: N views watching every price, Switchboard beside Socket.IO 4, in one run.
 * Switchboard: one hub (its core in Node: fake-indexeddb, `ws`) with N view sessions subscribed to
 * `prices:*`, which is what N popup or dashboard tabs are. Socket.IO: N clients in a `prices` room,
 * one per tab, which is what a page that opens its own socket gets (Socket.IO has no cross-tab
 * sharing). Both behind a TCP proxy on 127.0.0.1 that counts the bytes sent to the browser side.
 *
 * The server publishes TICKS ticks over SYMBOLS symbols, CHUNK at a time every PACE_MS (a busy
 * market, about 5,000 ticks/s, the same pacing for both). Done when every view has
 * the last price of every symbol (Switchboard conflates: a view is never handed a backlog, only the
 * latest value per symbol) or every Socket.IO client has every tick. Counted: server connections,
 * bytes on the wire to the browser, updates handed to each view, and whether every view ends on the
 * latest prices.
 */
import 'fake-indexeddb/auto';
import { createServer as createHttpServer } from 'node:http';
import { IDBFactory } from 'fake-indexeddb';
import { Server } from 'socket.io';
import { io as connectSocketIo, type Socket as ClientSocket } from 'socket.io-client';
import WebSocket from 'ws';
import type { PriceTick } from '../lib/wire/prices';
import { topics } from '../lib/wire/topics';
import { startTestServer } from '../test/support/server';
import { startTcpProxy } from '../test/support/tcp-proxy';
import { openHub } from '../worker/core/hub';
import { systemClock } from '../worker/core/platform';
import type { Row } from './table';

const TAB_COUNTS = [1, 10, 50];
const TICKS = 5_000;
const SYMBOLS = Array.from({ length: 20 }, (_, i) => `SYM${i}`);
const CAP_MS = 60_000;
const CHUNK = 25;
const PACE_MS = 5;

/** Calls `publish` for every tick, CHUNK at a time every PACE_MS. */
async function paced<T>(items: readonly T[], publish: (item: T) => void): Promise<void> {
  for (let i = 0; i < items.length; i += CHUNK) {
    for (const item of items.slice(i, i + CHUNK)) publish(item);
    await new Promise((resolve) => setTimeout(resolve, PACE_MS));
  }
}

/** The ticks both systems publish: a walk per symbol, ending on a known price each. */
function ticks(): { symbol: string; price: number }[] {
  return Array.from({ length: TICKS }, (_, i) => ({ symbol: SYMBOLS[i % SYMBOLS.length]!, price: 100 + i / 100 }));
}

const lastPrices = (): Map<string, number> => new Map(ticks().map((tick) => [tick.symbol, tick.price]));

/** Polls `done` until it holds; throws after the cap, naming `what`. */
async function waitFor(done: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + CAP_MS;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`per-tab bench: gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface Outcome {
  readonly connections: number;
  readonly bytes: number;
  readonly ms: number;
  readonly updatesPerView: number;
  readonly latest: boolean;
}

async function switchboardRun(tabs: number): Promise<Outcome> {
  const server = await startTestServer();
  const proxy = await startTcpProxy({ port: server.port });
  const token = await server.mintToken('bench');
  const hub = await openHub({
    openSocket: (url) => new WebSocket(url),
    clock: systemClock,
    random: Math.random,
    network: { isOnline: () => true, onChange: () => () => {} },
    settings: { load: async () => ({ serverUrl: proxy.url, token }), save: async () => {} },
    indexedDB: new IDBFactory(),
  });
  const views = Array.from({ length: tabs }, () => ({ seen: new Map<string, number>(), updates: 0 }));
  const sessions = views.map((view) => {
    const session = hub.openSession();
    void session.listen({
      status: () => {},
      updates: (batch) => {
        for (const update of batch) {
          if (update.kind !== 'state') continue;
          const tick = update.value as PriceTick;
          view.updates += 1;
          view.seen.set(tick.symbol, tick.price);
        }
      },
    });
    return session;
  });
  try {
    await Promise.all(sessions.map((session) => session.subscribe([topics.allPrices])));
    await waitFor(() => hub.status().s === 'open', 'the hub to connect');
    const before = proxy.bytesToClients();
    const started = performance.now();
    await paced(ticks(), (tick) => server.server.publishPrice(tick.symbol, tick.price));
    const want = lastPrices();
    const latest = (): boolean => views.every((view) => [...want].every(([symbol, price]) => view.seen.get(symbol) === price));
    await waitFor(latest, 'every view to show the last prices');
    const ms = performance.now() - started;
    return {
      connections: proxy.connections(),
      bytes: proxy.bytesToClients() - before,
      ms,
      updatesPerView: Math.round(views.reduce((sum, view) => sum + view.updates, 0) / tabs),
      latest: latest(),
    };
  } finally {
    for (const session of sessions) session.close();
    hub.close();
    await proxy.close();
    await server.close();
  }
}

async function socketIoRun(tabs: number): Promise<Outcome> {
  const http = createHttpServer();
  const io = new Server(http);
  io.on('connection', (socket) => {
    void socket.join('prices');
    socket.emit('joined');
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  const proxy = await startTcpProxy({ port: address.port });
  const views = Array.from({ length: tabs }, () => ({ seen: new Map<string, number>(), updates: 0, joined: false }));
  const clients: ClientSocket[] = views.map((view) => {
    const client = connectSocketIo(proxy.url, { transports: ['websocket'], forceNew: true });
    client.on('joined', () => void (view.joined = true));
    client.on('tick', (tick: PriceTick) => {
      view.updates += 1;
      view.seen.set(tick.symbol, tick.price);
    });
    return client;
  });
  try {
    await waitFor(() => views.every((view) => view.joined), 'every client to join');
    const before = proxy.bytesToClients();
    const started = performance.now();
    const prev = new Map<string, number>();
    await paced(ticks(), ({ symbol, price }) => {
      io.to('prices').emit('tick', { symbol, price, prev: prev.get(symbol) ?? price, at: Date.now() });
      prev.set(symbol, price);
    });
    const want = lastPrices();
    const latest = (): boolean => views.every((view) => view.updates === TICKS && [...want].every(([s, p]) => view.seen.get(s) === p));
    await waitFor(latest, 'every client to get every tick');
    return {
      connections: proxy.connections(),
      bytes: proxy.bytesToClients() - before,
      ms: performance.now() - started,
      updatesPerView: Math.round(views.reduce((sum, view) => sum + view.updates, 0) / tabs),
      latest: latest(),
    };
  } finally {
    for (const client of clients) client.close();
    await io.close();
    await proxy.close();
  }
}

const kb = (bytes: number): string => (bytes / 1024).toFixed(1);

export async function perTabRows(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const tabs of TAB_COUNTS) {
    for (const [system, run] of [
      ['Switchboard (one hub, conflated)', switchboardRun],
      ['Socket.IO 4 (a socket per tab)', socketIoRun],
    ] as const) {
      const outcome = await run(tabs);
      rows.push({
        tabs,
        system,
        'server connections': outcome.connections,
        'KiB to the browser': kb(outcome.bytes),
        'KiB per tab': kb(outcome.bytes / tabs),
        'updates per view': outcome.updatesPerView.toLocaleString('en-US'),
        'all on latest prices': outcome.latest ? 'yes' : 'no',
        'ms until all caught up': outcome.ms.toFixed(0),
      });
    }
  }
  return rows;
}
