/**
 * Recovery of 10,000 missed events in real Chromium (Debian's, headless, through playwright-core):
 * the built extension's hub in its service worker beside a page on Socket.IO 4 with connection
 * state recovery, one after the other in the same run, each against its own server on 127.0.0.1.
 *
 * Switchboard: the extension is pointed at the server (SQLite log) through a TCP proxy and has
 * stored one notification. Its service worker is taken offline (CDP network emulation: the hub
 * closes its socket) and the proxy unplugged, the server publishes 10,000 notifications to the
 * user's feed, then the proxy is plugged in and the worker brought back online. Timed: from the
 * moment the server has the extension's WebSocket again until the hub's cursor for the feed, which
 * moves in the same IndexedDB transaction as the entries, reaches the last event (read in the worker
 * every 10 ms). Lost and duplicated are counted from the entries stored in the extension's
 * IndexedDB once the hub has settled.
 *
 * Socket.IO: a page served through the proxy joins a room and has received one event; the proxy is
 * unplugged (the page's socket sees `transport close`), the server emits 10,000 events to the room,
 * and the proxy is plugged in again (the client retries every 50-200 ms). Timed from the moment the
 * server has the page's socket again until the page's handler has all 10,000; it stores nothing.
 *
 * Neither side's reconnect delay is timed. Rounds alternate (`RECOVERY_CHROMIUM_ROUNDS`, default 3);
 * each round is about 30 s on the 2-core machine. It measures the extension as last built: without
 * a build (or without Chromium) the table says so in one row and `npm run bench` goes on.
 * Alone: `npx wxt build && npx node --import tsx bench/recovery-chromium.ts`.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Worker } from 'playwright-core';
import { Server } from 'socket.io';
import { topics } from '../lib/wire/topics';
import { CHROME_EXTENSION_DIR, launchChromiumWithExtension } from '../test/support/chromium';
import { OptionsPage } from '../test/support/pages/options';
import { BROWSER_PATHS, CHROMIUM_ARGS } from '../test/support/puppeteer';
import { startTestServer } from '../test/support/server';
import { startTcpProxy } from '../test/support/tcp-proxy';
import { MISSED, publishMissed, RETENTION } from './recovery';
import { median, ratio } from './stats';
import { printTable, type Row } from './table';

const USER = 'bench';
const TOPIC = topics.feed(USER);
const CAP_MS = 60_000;
const CHROMIUM = BROWSER_PATHS.chromium;

interface Outcome {
  readonly ms: number;
  readonly lost: number;
  readonly duplicated: number;
}

/** Resolves with `performance.now()` at the first moment `probe` holds, looking every millisecond. */
async function firstMoment(what: string, probe: () => boolean, capMs = CAP_MS): Promise<number> {
  const deadline = performance.now() + capMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`recovery bench (Chromium): gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return performance.now();
}

/**
 * Runs in the extension's service worker: waits until the cursor of `topic` has reached `seq`
 * (looking every 10 ms), or, with `settled`, also until the journal is empty, and returns the
 * `seq`s of the topic's stored notifications. A string: tsx wraps named functions in a helper the
 * worker does not have.
 */
const IN_WORKER = `async ({ topic, seq, settled }) => {
  const request = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
  const db = await request(indexedDB.open('switchboard-hub'));
  try {
    for (;;) {
      const tx = db.transaction(['cursors', 'journal'], 'readonly');
      const cursor = await request(tx.objectStore('cursors').get(topic));
      const journal = await request(tx.objectStore('journal').count());
      if ((cursor?.seq ?? 0) >= seq && (!settled || journal === 0)) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    if (!settled) return [];
    const rows = await request(db.transaction('feed', 'readonly').objectStore('feed').getAll());
    return rows.flatMap(({ entry }) => (entry.kind === 'notification' && entry.topic === topic ? [entry.seq] : []));
  } finally {
    db.close();
  }
}`;

/** `IN_WORKER` called with `arg` in `worker`. */
const inWorker = (worker: Worker, arg: { topic: string; seq: number; settled: boolean }): Promise<number[]> =>
  worker.evaluate(`(${IN_WORKER})(${JSON.stringify(arg)})`) as Promise<number[]>;

async function switchboardRun(): Promise<Outcome> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
  const server = await startTestServer({ store: 'sqlite', dataDir, retention: { maxEvents: RETENTION } });
  const proxy = await startTcpProxy({ port: server.port });
  const browser = await launchChromiumWithExtension();
  try {
    const options = await OptionsPage.open(browser);
    await options.save({ serverUrl: proxy.url, token: await server.mintToken(USER) });
    await options.waitForStatus('Connected');
    await options.page.close();
    const first = await server.server.publishEvent(TOPIC, { title: 'before', body: '', level: 'info' });
    const worker = await browser.serviceWorker();
    await inWorker(worker, { topic: TOPIC, seq: first.seq, settled: false });

    await browser.setServiceWorkerOffline(true);
    proxy.unplug();
    await firstMoment('the server to see the extension go', () => server.server.connectionCount() === 0);
    const seqs = await publishMissed((i) => server.server.publishEvent(TOPIC, { title: `missed ${i}`, body: '', level: 'info' }));
    proxy.plug();
    await browser.setServiceWorkerOffline(false);
    // Not timed. A service worker that went idle while away may have been stopped; it reconnects
    // when its periodic alarm wakes it (at most a minute), so this waits longer than the rest.
    const reconnected = await firstMoment('the extension to reconnect', () => server.server.connectionCount() > 0, 3 * CAP_MS).catch(async (error: Error) => {
      // Say what the hub thought it was doing: its status line, as the options page shows it.
      const page = (await OptionsPage.open(browser)).page;
      const status = await page.getByRole('status').first().textContent({ timeout: 5_000 }).catch(() => 'no status line');
      throw new Error(`${error.message}; the hub's status: ${status}; online in the worker: ${String(await worker.evaluate('navigator.onLine'))}`);
    });
    await inWorker(worker, { topic: TOPIC, seq: seqs.at(-1)!, settled: false });
    const ms = performance.now() - reconnected;

    const stored = await inWorker(worker, { topic: TOPIC, seq: seqs.at(-1)!, settled: true });
    const storedSet = new Set(stored);
    return { ms, lost: seqs.filter((seq) => !storedSet.has(seq)).length, duplicated: stored.length - storedSet.size };
  } finally {
    await browser.close();
    await proxy.close();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>Socket.IO recovery</title>
<script src="/socket.io/socket.io.min.js"></script>
<script>
  window.received = [];
  window.arrived = new Set();
  window.joined = 0;
  window.target = Infinity;
  let finish;
  window.all = new Promise((resolve) => (finish = resolve));
  const socket = io({ transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 200 });
  socket.on('joined', () => window.joined++);
  socket.on('n', (i) => {
    window.received.push(i);
    if (i > 0) window.arrived.add(i);
    if (window.arrived.size >= window.target) finish();
  });
</script>`;

async function socketIoRun(): Promise<Outcome> {
  const http = createHttpServer((request, response) => {
    if (request.url !== '/') return; // Socket.IO answers its own paths.
    response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
  });
  const io = new Server(http, { connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000 } });
  io.on('connection', (socket) => {
    void socket.join('feed');
    socket.emit('joined');
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  const proxy = await startTcpProxy({ port: address.port });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${proxy.url}/`);
    await page.waitForFunction(() => (window as unknown as { joined: number }).joined === 1);
    io.to('feed').emit('n', 0);
    await page.waitForFunction(() => (window as unknown as { received: number[] }).received.length === 1);

    proxy.unplug();
    await firstMoment('the server to see the page go', () => io.engine.clientsCount === 0);
    for (let i = 1; i <= MISSED; i++) io.to('feed').emit('n', i);
    await page.evaluate((target) => void ((window as unknown as { target: number }).target = target), MISSED);
    const all = page.evaluate(() => (window as unknown as { all: Promise<void> }).all);
    proxy.plug();
    const reconnected = await firstMoment('the page to reconnect', () => io.engine.clientsCount > 0);
    await all;
    const ms = performance.now() - reconnected;
    const received = await page.evaluate(() => (window as unknown as { received: number[] }).received);
    const missed = received.filter((i) => i > 0);
    return { ms, lost: MISSED - new Set(missed).size, duplicated: missed.length - new Set(missed).size };
  } finally {
    await browser.close();
    await proxy.close();
    await io.close();
  }
}

/** `rounds` rounds, each Switchboard then Socket.IO; medians of the catch-up time, lost and duplicated summed. */
export async function recoveryChromiumRows(rounds = Number(process.env.RECOVERY_CHROMIUM_ROUNDS ?? 3)): Promise<Row[]> {
  const missing = !existsSync(join(CHROME_EXTENSION_DIR, 'manifest.json')) ? 'no built extension (run `npx wxt build`)' : !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM}` : null;
  if (missing) return [{ system: 'skipped', why: missing }];
  const systems = [
    { system: 'Switchboard extension (service worker, IndexedDB)', run: switchboardRun, durable: 'yes' },
    { system: 'Socket.IO 4 CSR (a page, nothing stored)', run: socketIoRun, durable: 'no' },
  ];
  const outcomes = systems.map(() => [] as Outcome[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, { system, run }] of systems.entries()) {
      const outcome = await run();
      outcomes[i]!.push(outcome);
      process.stderr.write(`recovery bench (Chromium): round ${round + 1}/${rounds}, ${system}: ${Math.round(outcome.ms)} ms\n`);
    }
  }
  const times = outcomes.map((list) => median(list.map((o) => o.ms)));
  return systems.map(({ system, durable }, i) => ({
    system,
    'events missed': MISSED,
    'reconnect → all stored/handled ms': times[i]!,
    'vs Socket.IO': ratio(times[i]!, times[1]!),
    'events lost': outcomes[i]!.reduce((sum, o) => sum + o.lost, 0),
    'events duplicated': outcomes[i]!.reduce((sum, o) => sum + o.duplicated, 0),
    'durable (IndexedDB)': durable,
  }));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printTable('Recovery of 10,000 missed events in Chromium: the built extension vs a Socket.IO 4 CSR page', await recoveryChromiumRows());
}
