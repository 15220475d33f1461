/**
 * The transport choice: the plan's rules as a table, and the socket factory that acts on them over
 * fake WebSockets, a scripted fetch and fake timers: step down to streaming only after N failed
 * upgrades and a working `GET /rt/sessions`, down to long polling when a stream stays silent (nothing at
 * d−1, the close at d), and back up when a WebSocket probe opens.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { TransportName } from '../../lib/rpc/hub-api';
import { systemClock, type SocketLike } from '../../worker/core/platform';
import { createTransportChoice } from '../../worker/core/transports/transport-choice';
import { afterOutcome, FRESH_RECORD, nextTransport, type Outcome, type ServerRecord } from '../../worker/core/transports/transport-plan';
import { createFakeFetch, json, sseResponse } from '../support/fake-fetch';
import { createFakeNetwork, createFakeSockets, createRecordingLogger, waitUntil } from '../support/fake-socket';

const OPTIONS = { wsFailuresBeforeFallback: 2, streamSilenceMs: 5000, probeIntervalMs: 60_000 };
const URL = 'ws://server.test/ws';

describe('the plan', () => {
  const on = (mode: TransportName, wsFailures = 0, probedAt = 0): ServerRecord => ({ mode, wsFailures, probedAt });
  test.each<[string, ServerRecord, Outcome, ServerRecord]>([
    ['a failed upgrade counts', on('websocket'), { k: 'ws failed' }, on('websocket', 1)],
    ['an upgrade that opens resets', on('websocket', 1), { k: 'ws opened' }, FRESH_RECORD],
    ['HTTP works once: not yet (a server just back answers too)', on('websocket', 2), { k: 'http checked', ok: true, at: 7 }, { ...on('websocket', 2), httpSeen: true }],
    ['HTTP worked before and after a failed upgrade: streaming', { ...on('websocket', 3), httpSeen: true }, { k: 'http checked', ok: true, at: 7 }, on('streaming', 0, 7)],
    ['a failed upgrade keeps what HTTP showed', { ...on('websocket', 2), httpSeen: true }, { k: 'ws failed' }, { ...on('websocket', 3), httpSeen: true }],
    ['HTTP fails too: stay, and start over', { ...on('websocket', 2), httpSeen: true }, { k: 'http checked', ok: false, at: 7 }, { ...on('websocket', 2), httpSeen: false }],
    ['a silent stream: long polling', on('streaming', 0, 7), { k: 'stream silent' }, on('long polling', 0, 7)],
    ['silence means nothing on long polling', on('long polling'), { k: 'stream silent' }, on('long polling')],
    ['a probe that opens: back to WebSocket', on('long polling', 0, 7), { k: 'probe opened' }, FRESH_RECORD],
    ['a probe that fails: stay, probed now', on('streaming', 0, 7), { k: 'probe failed', at: 9 }, on('streaming', 0, 9)],
    ['a stream heard while on long polling: streaming', on('long polling', 0, 9), { k: 'stream heard' }, on('streaming', 0, 9)],
    ['a stream heard means nothing on streaming', on('streaming', 0, 9), { k: 'stream heard' }, on('streaming', 0, 9)],
  ])('%s', (_, before, outcome, after) => expect(afterOutcome(before, outcome)).toEqual(after));

  test('on HTTP, a probe is due at the interval, not before; `only` pins the transport', () => {
    expect(nextTransport(on('streaming', 0, 1000), 1000 + 59_999, OPTIONS)).toEqual({ transport: 'streaming', probe: false });
    expect(nextTransport(on('streaming', 0, 1000), 1000 + 60_000, OPTIONS)).toEqual({ transport: 'websocket', probe: true });
    expect(nextTransport(FRESH_RECORD, 0, { ...OPTIONS, only: 'long polling' })).toEqual({ transport: 'long polling', probe: false });
  });
});

describe('the socket factory', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function setup(initial?: ReadonlyMap<string, ServerRecord>) {
    const sockets = createFakeSockets();
    const fake = createFakeFetch();
    const log = createRecordingLogger();
    const remembered: Array<[string, ServerRecord]> = [];
    const network = createFakeNetwork(true);
    const open = createTransportChoice({
      openWebSocket: sockets.factory,
      fetch: fake.fetch,
      clock: systemClock,
      network,
      log,
      options: OPTIONS,
      remember: (url, record) => void remembered.push([url, record]),
      ...(initial ? { initial } : {}),
    });
    /** Resolves once the hub has read the answer of its `GET /rt/sessions` check. */
    const checked = (count = 1) => waitUntil(`GET /rt/sessions answer ${count} read`, () => log.entries.filter((e) => e.message.includes('asked GET /rt/sessions')).length >= count);
    return { sockets, fake, open, checked, remembered, network };
  }

  /** Opens the next socket and, when it is HTTP, answers its session. */
  async function openHttp(fake: ReturnType<typeof createFakeFetch>, open: (url: string) => SocketLike) {
    const socket = open(URL);
    const closes: number[] = [];
    let opened = false;
    socket.onopen = () => void (opened = true);
    socket.onclose = (event) => void closes.push(event.code);
    (await fake.next('POST', '/rt/sessions')).respond(json(201, { session: 's1', secret: 'x' }));
    await waitUntil('the session open', () => opened);
    return { socket, closes };
  }

  /** Steps down to streaming, opens a stream and lets it deliver a heartbeat. */
  async function openHeardStream(env: ReturnType<typeof setup>) {
    await stepDownToStreaming(env);
    const opened = await openHttp(env.fake, env.open);
    const sse = sseResponse();
    (await env.fake.next('GET', '/stream')).respond(sse.response);
    sse.write(': heartbeat\n\n');
    return opened;
  }

  async function stepDownToStreaming({ sockets, fake, open, checked }: ReturnType<typeof setup>) {
    for (let i = 0; i < 2; i++) {
      open(URL);
      sockets.last().serverClose(1006);
    }
    (await fake.next('GET', '/rt/sessions')).respond(new Response('ok'));
    await checked(1);
    // Plain HTTP worked; one more failed upgrade while it still does is the proof.
    expect(open(URL).transport).toBe('websocket');
    sockets.last().serverClose(1006);
    (await fake.next('GET', '/rt/sessions')).respond(new Response('ok'));
    await checked(2);
  }

  test('WebSocket first; after two failed upgrades and a working GET /rt/sessions, streaming', async () => {
    const env = setup();
    expect(env.open(URL).transport).toBe('websocket');
    env.sockets.last().serverClose(1006);
    expect(env.fake.pending('GET', '/rt/sessions')).toEqual([]);
    await stepDownToStreaming(env);
    expect(env.open(URL).transport).toBe('streaming');
    // Only the step is remembered, not each failure on the way.
    expect(env.remembered).toEqual([[URL, { mode: 'streaming', wsFailures: 0, probedAt: Date.now() }]]);
  });

  test('what was remembered is where a new factory starts', () => {
    const { open } = setup(new Map([[URL, { mode: 'long polling', wsFailures: 0, probedAt: Date.now() }]]));
    expect(open(URL).transport).toBe('long polling');
    expect(open('ws://other.test/ws').transport).toBe('websocket');
  });

  test('GET /rt/sessions failing too keeps WebSocket', async () => {
    const { sockets, fake, open, checked } = setup();
    for (let i = 0; i < 2; i++) {
      open(URL);
      sockets.last().serverClose(1006);
    }
    (await fake.next('GET', '/rt/sessions')).respond(new Response('down', { status: 503 }));
    await checked();
    // No loop of checks while the server is down: the next one waits for the next failed upgrade.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fake.pending('GET', '/rt/sessions')).toEqual([]);
    expect(open(URL).transport).toBe('websocket');
    sockets.last().serverClose(1006);
    expect(fake.pending('GET', '/rt/sessions')).toHaveLength(1);
  });

  test('a server just back answers GET /rt/sessions and takes the next upgrade: WebSocket stays', async () => {
    const { sockets, fake, open, checked, remembered } = setup();
    for (let i = 0; i < 2; i++) {
      open(URL);
      sockets.last().serverClose(1006);
    }
    (await fake.next('GET', '/rt/sessions')).respond(new Response('ok'));
    await checked();
    const next = open(URL);
    expect(next.transport).toBe('websocket');
    sockets.last().open();
    expect(open(URL).transport).toBe('websocket');
    expect(remembered).toEqual([]);
  });

  test('a stream silent for streamSilenceMs: nothing at d−1, closed with 1006 at d, then long polling', async () => {
    const env = setup();
    await stepDownToStreaming(env);
    const { socket, closes } = await openHttp(env.fake, env.open);
    expect(socket.transport).toBe('streaming');
    await vi.advanceTimersByTimeAsync(4999);
    expect(closes).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await waitUntil('the close', () => closes[0]);
    expect(closes).toEqual([1006]);
    expect(env.open(URL).transport).toBe('long polling');
  });

  test('a stream that delivers a heartbeat stays', async () => {
    const env = setup();
    const { closes } = await openHeardStream(env);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(closes).toEqual([]);
    expect(env.open(URL).transport).toBe('streaming');
  });

  test('while on HTTP a WebSocket is probed every interval; when one opens the HTTP socket closes with 1012 and WebSocket is next', async () => {
    const env = setup();
    const { closes } = await openHeardStream(env);
    const before = env.sockets.all.length;
    await vi.advanceTimersByTimeAsync(59_999);
    expect(env.sockets.all.length).toBe(before);
    await vi.advanceTimersByTimeAsync(1);
    expect(env.sockets.all.length).toBe(before + 1);
    env.sockets.last().serverClose(1006); // Still blocked: try again later.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(env.sockets.all.length).toBe(before + 2);
    const probe = env.sockets.last().open();
    expect(probe.closedByClient).toMatchObject({ code: 1000 });
    await waitUntil('the HTTP socket closed', () => closes[0]);
    expect(closes).toEqual([1012]);
    expect(env.open(URL).transport).toBe('websocket');
  });

  test('the network came back: the next attempt to a server on HTTP is a WebSocket probe; a failed one goes back to HTTP', async () => {
    const env = setup(new Map([[URL, { mode: 'streaming', wsFailures: 0, probedAt: Date.now() }]]));
    expect(env.open(URL).transport).toBe('streaming');
    env.network.set(false);
    expect(env.open(URL).transport).toBe('streaming');
    env.network.set(true);
    const before = env.sockets.all.length;
    expect(env.open(URL).transport).toBe('websocket');
    expect(env.sockets.all.length).toBe(before + 1);
    env.sockets.last().serverClose(1006);
    expect(env.open(URL).transport).toBe('streaming');
  });

  describe('on long polling, a WebSocket probe that fails is followed by a stream probe', () => {
    /** On long polling (remembered), with its session open and the first probe's WebSocket refused. */
    async function probingFromLongPolling() {
      const env = setup(new Map([[URL, { mode: 'long polling', wsFailures: 0, probedAt: Date.now() }]]));
      const polling = await openHttp(env.fake, env.open);
      expect(polling.socket.transport).toBe('long polling');
      await vi.advanceTimersByTimeAsync(60_000);
      env.sockets.last().serverClose(1006);
      (await env.fake.next('POST', '/rt/sessions')).respond(json(201, { session: 'probe', secret: 'y' }));
      const stream = await env.fake.next('GET', '/probe/stream');
      return { ...env, polling, stream };
    }

    test('heard: the probe session is deleted, the long-polling socket closes with 1012, and streaming is next', async () => {
      const env = await probingFromLongPolling();
      const sse = sseResponse();
      env.stream.respond(sse.response);
      sse.write(': heartbeat\n\n');
      await env.fake.next('DELETE', '/probe');
      await waitUntil('the long-polling socket closed', () => env.polling.closes[0]);
      expect(env.polling.closes).toEqual([1012]);
      expect(env.open(URL).transport).toBe('streaming');
      expect(env.remembered.at(-1)).toEqual([URL, expect.objectContaining({ mode: 'streaming' })]);
    });

    test('silent for streamSilenceMs (a buffering proxy): the probe is dropped, long polling stays, and the next round comes an interval later', async () => {
      const env = await probingFromLongPolling();
      env.stream.respond(sseResponse().response);
      await vi.advanceTimersByTimeAsync(5000);
      await env.fake.next('DELETE', '/probe');
      expect(env.polling.closes).toEqual([]);
      expect(env.open(URL).transport).toBe('long polling');
      const before = env.sockets.all.length;
      await vi.advanceTimersByTimeAsync(60_000);
      expect(env.sockets.all.length).toBe(before + 1);
    });
  });
});
