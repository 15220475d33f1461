/**
 * The server fuzzed: at least 50,000 hostile frames (`test/support/fuzz.ts`: random bytes, cut and
 * overwritten msgpack, valid frames with hostile values, text and oversize frames) thrown over
 * several connections at a real server on 127.0.0.1, some before `hello` and most after, while a
 * good client stays connected and keeps receiving what is published meanwhile. The server must
 * not crash or fail a handler, must answer only with valid frames, must close every fuzzing
 * connection it closes for good (none left open or half-closed afterwards), and must serve a new
 * client at the end.
 *
 * Seeded and deterministic from the seed: each lane draws its frames from its own stream, whatever
 * the server closes when. A fresh seed each run (so CI keeps exploring); `FUZZ_SEED=<n>` replays
 * one, and a failure prints it. Bounded: it stops at the frame target, or fails at the deadline.
 */
import WebSocket from 'ws';
import { expect, onTestFailed, onTestFinished, test } from 'vitest';
import { createCodec, DEFAULT_LIMITS } from '../../lib/wire/codec';
import { PROTOCOL_VERSION } from '../../lib/wire/protocol';
import { createFuzzFrames, createRandom } from '../support/fuzz';
import { poll } from '../support/poll';
import { readMetric, startTestServer, type TestServer } from '../support/server';
import { connectAndGreet } from '../support/ws-client';

/** Frames the server must have handled (decoded and answered or refused). */
const TARGET_FRAMES = 50_000;
/** Fails rather than throw frames longer than this; it takes about 10 s on a busy 2-core machine. */
const DEADLINE_MS = 30_000;
const LANES = 4;
/** Frames sent between two pings; the pong paces the lane to what the server handled. */
const BATCH = 50;
/** Lanes that open a connection without greeting do so this often. */
const UNGREETED = 0.1;

const codec = createCodec();
const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

interface Tally {
  sent: number;
  connections: number;
  /** Frames the server sent that the client codec refused: there must be none. */
  readonly invalid: string[];
}

/** Frames the server decoded so far, valid or refused. */
async function handled(server: TestServer): Promise<number> {
  const text = await server.server.metricsText();
  return readMetric(text, 'switchboard_frames_received_total') + readMetric(text, 'switchboard_frames_rejected_total');
}

/**
 * One fuzzing connection: greets with `token` (unless null), then throws batches of frames, each
 * followed by a ping whose pong says the server got through them, until the server closes it or
 * `stop()`. Resolves once the socket is closed.
 */
async function fuzzConnection(server: TestServer, token: string | null, next: () => { data: Uint8Array | string }, stop: () => boolean, tally: Tally): Promise<void> {
  const ws = new WebSocket(server.wsUrl, { perMessageDeflate: false });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  ws.on('error', () => undefined);
  const waiting = new Map<number, () => void>();
  let welcomed: () => void = () => undefined;
  const welcome = new Promise<void>((resolve) => (welcomed = resolve));
  ws.on('message', (data: Buffer, isBinary) => {
    const decoded = codec.decodeServerFrame(isBinary ? data : data.toString('utf8'));
    if (!decoded.ok) return void tally.invalid.push(decoded.message);
    if (decoded.frame.t === 'welcome') welcomed();
    if (decoded.frame.t === 'pong') waiting.get(decoded.frame.at)?.();
  });
  const open = await Promise.race([new Promise<boolean>((resolve) => ws.once('open', () => resolve(true))), closed.then(() => false)]);
  if (!open) return;
  tally.connections += 1;
  if (token !== null) {
    ws.send(codec.encode({ t: 'hello', v: PROTOCOL_VERSION, token, client: 'fuzz' }));
    await Promise.race([welcome, closed]);
  }
  for (let marker = 1; ws.readyState === WebSocket.OPEN && !stop(); marker++) {
    for (let i = 0; i < BATCH && ws.readyState === WebSocket.OPEN; i++) {
      const { data } = next();
      ws.send(data, { binary: typeof data !== 'string' });
      tally.sent += 1;
    }
    if (ws.readyState !== WebSocket.OPEN) break;
    const pong = new Promise<void>((resolve) => waiting.set(marker, resolve));
    ws.send(codec.encode({ t: 'ping', at: marker }));
    await Promise.race([pong, closed]);
    waiting.delete(marker);
  }
  if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'fuzz done');
  await closed;
}

test(`≥ ${TARGET_FRAMES} hostile frames: the server stays up, leaks no connection, and keeps serving a good client`, { timeout: DEADLINE_MS + 30_000 }, async () => {
  onTestFailed(() => console.error(`server fuzz failed: replay it with FUZZ_SEED=${seed}`));
  // A bad-frame allowance of a thousand rather than ten, so each connection takes hundreds of
  // frames and the run spends its time on frames rather than handshakes; connections still end by
  // that close (4000) and by the others the fuzz provokes (1009 oversize, 4010 refresh).
  // Pings are the fuzz's own pacing (each batch waits for its pong), so their rate limit is lifted;
  // every other limit stays at its default and is part of what the fuzz meets.
  const server = await startTestServer({ maxBadFrames: 1000, limits: { controlRate: { burst: 1_000_000, perSecond: 1_000_000 } } });
  onTestFinished(() => server.close());
  server.server.publishPrice('AAPL', 200);
  const tcpSockets = () => process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap').length;
  const socketsBefore = tcpSockets();

  const { client: good } = await connectAndGreet(server.url, { token: await server.mintToken('good') });
  onTestFinished(() => good.ws.terminate());
  for (const topic of ['news', 'feed:good', 'prices:AAPL']) expect(await good.subscribe(topic)).toMatchObject({ t: 'subscribed' });
  const before = await handled(server);

  const tally: Tally = { sent: 0, connections: 0, invalid: [] };
  let done = false;
  let published = 0;
  let lastPrice = 200;
  const started = performance.now();
  const stop = () => done || performance.now() - started > DEADLINE_MS;

  async function lane(index: number): Promise<void> {
    const random = createRandom(seed + index * 7919);
    const user = `fuzz${index}`;
    const token = await server.mintToken(user);
    const next = createFuzzFrames(random, { user, maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes });
    while (!stop()) {
      const greet = !random.chance(UNGREETED);
      await fuzzConnection(server, greet ? token : null, next, stop, tally);
      // Lane 0 also publishes for the good client after each of its connections, and watches the count.
      if (index === 0) {
        published += 1;
        lastPrice = 190 + random.int(20);
        server.server.publishPrice('AAPL', lastPrice);
        await server.server.publishEvent('news', { title: `news ${published}`, body: '', level: 'info' });
        await server.server.publishEvent('feed:good', { title: `for you ${published}`, body: '', level: 'info' });
      }
      if (index === 0 && (await handled(server)) - before >= TARGET_FRAMES) done = true;
    }
  }
  await Promise.all(Array.from({ length: LANES }, (_, i) => lane(i)));
  const elapsedMs = Math.round(performance.now() - started);
  const frames = (await handled(server)) - before;

  expect({ frames: frames >= TARGET_FRAMES, invalidFramesFromServer: tally.invalid.slice(0, 3) }, `${frames} frames in ${elapsedMs} ms over ${tally.connections} connections`).toEqual({
    frames: true,
    invalidFramesFromServer: [],
  });
  expect(readMetric(await server.server.metricsText(), 'switchboard_handler_errors_total')).toBe(0);

  // The good client got everything published meanwhile, in order, once, and is still connected.
  expect(published).toBeGreaterThan(0);
  await good.untilEvent('news', published);
  await good.untilEvent('feed:good', published);
  const seqs = (topic: string) => good.events(topic).map((e) => e.seq);
  expect(seqs('news')).toEqual(Array.from({ length: published }, (_, i) => i + 1));
  expect(seqs('feed:good')).toEqual(Array.from({ length: published }, (_, i) => i + 1));
  server.server.flush();
  await good.until((f) => f.t === 'state' && (f.value as { price: number }).price === lastPrice);
  good.send({ t: 'ping', at: 42 });
  expect(await good.nextOf('pong', (f) => f.at === 42)).toMatchObject({ at: 42 });

  // No fuzzing connection is left: open (the gauge) or as a socket at all.
  await poll('only the good client to be connected', () => server.server.connectionCount() === 1);
  await poll(() => `the fuzzing sockets to be gone (${tcpSockets()} TCP sockets, ${socketsBefore + 2} expected)`, () => tcpSockets() <= socketsBefore + 2);

  // And it serves a newcomer, over WebSocket and HTTP.
  const { client: newcomer } = await connectAndGreet(server.url, { token: await server.mintToken('newcomer') });
  expect(await newcomer.subscribe('prices:AAPL')).toMatchObject({ t: 'subscribed' });
  expect(await newcomer.nextOf('state')).toMatchObject({ topic: 'prices:AAPL', value: { price: lastPrice } });
  await newcomer.close();
  expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
});
