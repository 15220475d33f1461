/**
 * Recovery of 10,000 events missed while disconnected, Switchboard beside Socket.IO 4 with
 * connection state recovery (CSR), in one run. Each client is connected through a TCP proxy on
 * 127.0.0.1 and has received one event; the proxy is unplugged (both sides see the TCP connection
 * die: Socket.IO calls that `transport close`, a disconnect CSR recovers from) and stays unplugged
 * while the server publishes 10,000 events to the client's topic (Switchboard: `feed:<user>`; Socket.IO:
 * a room the socket joined). Then the proxy is plugged in again, once as is and once after the
 * server was restarted (Switchboard on its SQLite log; Socket.IO keeps CSR state in process memory).
 *
 * Timed: from the moment the client's WebSocket is open again until it has all 10,000 (both
 * handshakes included, neither client's reconnect backoff). Switchboard's hub core runs in
 * Node (fake-indexeddb, `ws`); it has an event once it is committed to IndexedDB and announced to
 * the view. Lost: missed events never received (Switchboard: not in the stored feed). Duplicated:
 * events a view was handed more than once (and, Switchboard, stored more than once). A run that
 * stops receiving ends after 2 s of silence (30 s at most) and reports what it got. After one
 * untimed warm-up cut of each, cut rounds alternate between the two (`RECOVERY_ROUNDS`, default 5)
 * and the table shows medians.
 *
 * Alone: `node --import tsx bench/recovery.ts`. The same catch-up in real Chromium with the built
 * extension is `bench/recovery-chromium.ts`.
 */
import 'fake-indexeddb/auto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { IDBFactory } from 'fake-indexeddb';
import { Server } from 'socket.io';
import { io as connectSocketIo } from 'socket.io-client';
import WebSocket from 'ws';
import type { NotificationEntry } from '../lib/rpc/feed-entry';
import { topics } from '../lib/wire/topics';
import { startTestServer, type TestServer } from '../test/support/server';
import { startTcpProxy } from '../test/support/tcp-proxy';
import { DB_NAME, type StoredEntry } from '../worker/store/db';
import { openHub } from '../worker/core/hub';
import { systemClock } from '../worker/core/platform';
import { median, ratio } from './stats';
import { printTable, type Row } from './table';

export const MISSED = 10_000;
export const RETENTION = 20_000;
const QUIET_MS = 2_000;
const CAP_MS = 30_000;
/** Events published at once while the client is away (the time this takes is not measured). */
const PUBLISH_AT_ONCE = 50;
const USER = 'bench';
const TOPIC = topics.feed(USER);

interface Outcome {
  readonly recovered: string;
  /** ms from connected again until every missed event arrived; `null` if they never all did. */
  readonly ms: number | null;
  readonly lost: number;
  readonly duplicated: string;
}

/** Something that changes as events arrive: `until` resolves `true` once `probe` holds, `false` after a silence or the cap. */
function createSignal() {
  const checks = new Set<() => void>();
  return {
    notify(): void {
      for (const check of [...checks]) check();
    },
    until(probe: () => boolean, quietMs = QUIET_MS): Promise<boolean> {
      return new Promise((resolve) => {
        let quiet: NodeJS.Timeout | undefined;
        const finish = (result: boolean): void => {
          checks.delete(check);
          clearTimeout(quiet);
          clearTimeout(cap);
          resolve(result);
        };
        const check = (): void => {
          if (probe()) return finish(true);
          clearTimeout(quiet);
          quiet = setTimeout(() => finish(false), quietMs);
        };
        const cap = setTimeout(() => finish(false), CAP_MS);
        checks.add(check);
        check();
      });
    },
  };
}

/** Setup steps must succeed; a benchmark that cannot get there has a bug, not a result. */
function must(done: boolean, what: string): void {
  if (!done) throw new Error(`recovery bench: gave up waiting for ${what}`);
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
const count = <T>(items: Iterable<T>) => {
  const counts = new Map<T, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
};
const extra = (counts: ReadonlyMap<unknown, number>) => [...counts.values()].reduce((sum, n) => sum + n - 1, 0);

/** Every feed entry the hub stored, read straight from its IndexedDB (a `feed()` page stops at 500). */
async function storedEntries(factory: IDBFactory): Promise<StoredEntry[]> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = factory.open(DB_NAME);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  try {
    return await new Promise<StoredEntry[]>((resolve, reject) => {
      const request = db.transaction('feed', 'readonly').objectStore('feed').getAll();
      request.onsuccess = () => resolve(request.result as StoredEntry[]);
      request.onerror = () => reject(request.error);
    });
  } finally {
    db.close();
  }
}

/** Publishes the missed events, a few at a time (each is durable before it is answered); their `seq`s. */
export async function publishMissed(publish: (i: number) => Promise<{ readonly seq: number }>): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 1; i <= MISSED; i += PUBLISH_AT_ONCE) {
    const chunk = range(i, Math.min(PUBLISH_AT_ONCE, MISSED - i + 1));
    seqs.push(...(await Promise.all(chunk.map(publish))).map((appended) => appended.seq));
  }
  return seqs;
}

export async function switchboardRun(restart: boolean): Promise<Outcome> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
  const start = (port = 0) => startTestServer({ store: 'sqlite', dataDir, port, retention: { maxEvents: RETENTION } });
  let server: TestServer = await start();
  const proxy = await startTcpProxy({ port: server.port });
  const indexedDB = new IDBFactory();
  const signal = createSignal();
  const recoveries: unknown[] = [];
  const warnings: string[] = [];
  const delivered: NotificationEntry[] = [];
  let away = false;
  let reconnectedAt = 0;
  const hub = await openHub(
    {
      openSocket: (url) => {
        const socket = new WebSocket(url);
        socket.on('open', () => {
          if (away && reconnectedAt === 0) reconnectedAt = performance.now();
        });
        return socket;
      },
      clock: systemClock,
      random: Math.random,
      network: { isOnline: () => true, onChange: () => () => {} },
      settings: { load: async () => ({ serverUrl: proxy.url, token: await server.mintToken(USER) }), save: async () => {} },
      indexedDB,
      log: {
        info: (message, data) => {
          if (message === 'stream subscribed' && data?.topic === TOPIC) recoveries.push(data.recovery);
          signal.notify();
        },
        warn: (message) => void warnings.push(message),
      },
    },
    { backoffBaseMs: 50, backoffCapMs: 200 },
  );
  const session = hub.openSession();
  await session.listen({
    status: () => signal.notify(),
    updates: (batch) => {
      for (const update of batch) {
        if (update.kind !== 'feed') continue;
        for (const entry of update.changed) if (entry.kind === 'notification' && entry.topic === TOPIC) delivered.push(entry);
      }
      signal.notify();
    },
  });
  try {
    must(await signal.until(() => recoveries.length === 1), `the hub to subscribe ${TOPIC}`);
    await server.server.publishEvent(TOPIC, { title: 'before', body: '', level: 'info' });
    must(await signal.until(() => delivered.length === 1), 'the first event');

    proxy.unplug();
    away = true;
    must(await signal.until(() => hub.status().s !== 'open'), 'the hub to see the cut');
    const seqs = await publishMissed((i) => server.server.publishEvent(TOPIC, { title: `missed ${i}`, body: '', level: 'info' }));
    if (restart) {
      const port = server.port;
      await server.close();
      server = await start(port);
    }
    proxy.plug();

    const missed = new Set(seqs);
    const arrived = new Set<number>();
    let looked = 0;
    const complete = await signal.until(() => {
      for (; looked < delivered.length; looked++) if (missed.has(delivered[looked]!.seq)) arrived.add(delivered[looked]!.seq);
      return arrived.size === MISSED;
    });
    const ms = complete ? performance.now() - reconnectedAt : null;
    await hub.idle();
    const stored = (await storedEntries(indexedDB)).map((row) => row.entry).filter((e): e is NotificationEntry => e.kind === 'notification');
    const storedSeqs = new Set(stored.map((entry) => entry.seq));
    if (warnings.length > 0) console.warn(`Switchboard recovery: the hub warned: ${[...new Set(warnings)].join('; ')}`);
    return {
      recovered: `${recoveries.at(-1) === 'recovered' ? 'yes' : 'no'} (${String(recoveries.at(-1))})`,
      ms,
      lost: seqs.filter((seq) => !storedSeqs.has(seq)).length,
      duplicated: `${extra(count(delivered.map((entry) => entry.id)))} handed / ${extra(count(stored.map((entry) => `${entry.epoch}/${entry.seq}`)))} stored`,
    };
  } finally {
    session.close();
    hub.close();
    await proxy.close();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A Socket.IO 4 server with CSR on 127.0.0.1; every socket joins the `feed` room and is told so. */
async function startSocketIo(port = 0): Promise<{ io: Server; port: number }> {
  const http = createHttpServer();
  const io = new Server(http, { connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000 } });
  io.on('connection', (socket) => {
    void socket.join('feed');
    socket.emit('joined');
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', resolve);
  });
  const address = http.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return { io, port: address.port };
}

export async function socketIoRun(restart: boolean): Promise<Outcome> {
  let server = await startSocketIo();
  const proxy = await startTcpProxy({ port: server.port });
  const signal = createSignal();
  const client = connectSocketIo(proxy.url, { transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 200 });
  const received: number[] = [];
  const arrived = new Set<number>();
  let joined = 0;
  let away = false;
  let reconnectedAt = 0;
  let serverSawDisconnect = false;
  server.io.on('connection', (socket) => socket.on('disconnect', () => void (serverSawDisconnect = true)));
  client.on('joined', () => void joined++);
  // The transport is open again; the missed events follow (CSR sends them before its CONNECT).
  client.io.on('open', () => {
    if (away && reconnectedAt === 0) reconnectedAt = performance.now();
  });
  client.on('connect', () => signal.notify());
  let disconnectReason = '';
  client.on('disconnect', (reason) => {
    disconnectReason ||= reason;
    signal.notify();
  });
  // CSR appends the packet's offset as a last argument: the handler sees `(i, offset)`.
  client.on('n', (i: number) => {
    received.push(i);
    if (i > 0) arrived.add(i);
    signal.notify();
  });
  client.on('joined', () => signal.notify());
  try {
    must(await signal.until(() => joined === 1), 'the socket to join its room');
    server.io.to('feed').emit('n', 0);
    must(await signal.until(() => received.length === 1), 'the first event');

    proxy.unplug();
    away = true;
    must(await signal.until(() => !client.connected && serverSawDisconnect), 'both sides to see the cut');
    must(disconnectReason === 'transport close', `a 'transport close' (got '${disconnectReason}')`);
    for (let i = 1; i <= MISSED; i++) server.io.to('feed').emit('n', i);
    if (restart) {
      const port = server.port;
      await server.io.close();
      server = await startSocketIo(port);
    }
    proxy.plug();

    await signal.until(() => client.connected);
    const complete = await signal.until(() => arrived.size === MISSED);
    return {
      recovered: client.recovered ? 'yes (socket.recovered)' : 'no (socket.recovered false)',
      ms: complete ? performance.now() - reconnectedAt : null,
      lost: range(1, MISSED).filter((i) => !arrived.has(i)).length,
      duplicated: `${extra(count(received))} handed`,
    };
  } finally {
    client.disconnect();
    await server.io.close();
    await proxy.close();
  }
}

/**
 * `rounds` rounds of a cut, Switchboard then Socket.IO, then one run of each with the server
 * restarted while the client was away. Cut rows show the median catch-up time, every round's lost
 * and duplicated events summed, and Switchboard's time as a ratio of Socket.IO's.
 */
export async function recoveryRows(rounds = Number(process.env.RECOVERY_ROUNDS ?? 5)): Promise<Row[]> {
  const systems = [
    { system: 'Switchboard (SQLite log)', run: switchboardRun },
    { system: 'Socket.IO 4 CSR', run: socketIoRun },
  ];
  // One untimed cut round of each first: the first run in a fresh process pays for compiling the
  // code on its path (measured: about 1.5× a later round's time), which would otherwise fall on the
  // cut rounds only, since the restart runs come last.
  for (const { system, run } of systems) {
    await run(false);
    process.stderr.write(`recovery bench: warm-up, ${system}, cut: done\n`);
  }
  const cuts = systems.map(() => [] as Outcome[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, { system, run }] of systems.entries()) {
      const outcome = await run(false);
      cuts[i]!.push(outcome);
      process.stderr.write(`recovery bench: round ${round + 1}/${rounds}, ${system}, cut: ${outcome.ms === null ? 'never' : `${Math.round(outcome.ms)} ms`}\n`);
    }
  }
  const restarts: Outcome[] = [];
  for (const { system, run } of systems) {
    restarts.push(await run(true));
    process.stderr.write(`recovery bench: ${system}, cut + server restart: done\n`);
  }
  const times = cuts.map((outcomes) => (outcomes.every((o) => o.ms !== null) ? median(outcomes.map((o) => o.ms!)) : null));
  const vsPeer = (ms: number | null) => ratio(ms ?? Number.NaN, times[1] ?? Number.NaN);
  return systems.flatMap(({ system }, i) => {
    const durable = restarts[i]!.lost === 0 ? 'yes (measured)' : 'no (measured)';
    const cut = cuts[i]!;
    const restart = restarts[i]!;
    return [
      {
        system,
        'while away': `connection cut (median of ${rounds})`,
        'recovered?': cut.at(-1)!.recovered,
        'events missed': MISSED,
        'time to catch up ms': times[i] ?? 'never',
        'vs Socket.IO': vsPeer(times[i] ?? null),
        'events lost': cut.reduce((sum, o) => sum + o.lost, 0),
        'events duplicated': cut.map((o) => o.duplicated).join('; '),
        'durable across server restart?': durable,
      },
      {
        system,
        'while away': 'cut + server restart',
        'recovered?': restart.recovered,
        'events missed': MISSED,
        'time to catch up ms': restart.ms ?? 'never',
        'vs Socket.IO': '',
        'events lost': restart.lost,
        'events duplicated': restart.duplicated,
        'durable across server restart?': durable,
      },
    ];
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printTable('Recovery of 10,000 events missed while disconnected: Switchboard vs Socket.IO 4 CSR', await recoveryRows());
}
