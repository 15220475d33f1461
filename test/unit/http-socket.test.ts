/**
 * The HTTP transports as a `SocketLike`, over a scripted fetch: the session's secret on every
 * request, frames delivered as bytes, client frames posted in order and never two POSTs at once,
 * the server's close mapped to `onclose`, anything broken to 1006.
 */
import { describe, expect, test } from 'vitest';
import { createCodec } from '../../lib/wire/codec';
import type { ServerFrame } from '../../lib/wire/protocol';
import type { HttpTransportName } from '../../lib/rpc/hub-api';
import { openHttpSocket } from '../../worker/core/transports/http-socket';
import { SESSION_HEADER } from '../../lib/wire/http-transport';
import { httpBaseUrl } from '../../worker/core/transports/http-wire';
import { createFakeFetch, json, sseResponse, type FakeFetch } from '../support/fake-fetch';
import { waitUntil, welcome } from '../support/fake-socket';

const codec = createCodec();
const WS_URL = 'ws://server.test/ws';
/** The path of the session the fake server hands out. */
const SESSION = ['', 'rt', 'sessions', 's1'].join('/');
const b64 = (frame: ServerFrame) => Buffer.from(codec.encode(frame)).toString('base64');

/** Opens a socket over `transport` and answers its `POST /rt/sessions`; records what it reports. */
async function openSocket(transport: HttpTransportName) {
  const fake = createFakeFetch();
  const delivered: number[] = [];
  const socket = openHttpSocket(WS_URL, { fetch: fake.fetch, transport, deliveryHook: () => void delivered.push(1) });
  const messages: ServerFrame[] = [];
  const closes: Array<{ code: number; reason: string }> = [];
  let opened = 0;
  socket.onopen = () => void (opened += 1);
  socket.onmessage = (event) => {
    const decoded = codec.decodeServerFrame(event.data as Uint8Array);
    if (decoded.ok) messages.push(decoded.frame);
  };
  socket.onclose = (event) => void closes.push(event);
  (await fake.next('POST', '/rt/sessions')).respond(json(201, { session: 's1', secret: 'sekret' }));
  await waitUntil('open', () => opened === 1);
  return { fake, socket, messages, closes, delivered };
}

const clientFrames = (fake: FakeFetch, index: number) =>
  (JSON.parse(fake.pending('POST', `${SESSION}/frames`)[index]!.body!) as string[]).map((f) => codec.decodeClientFrame(Buffer.from(f, 'base64')));

describe('httpBaseUrl', () => {
  test.each([
    ['ws://127.0.0.1:8787/ws', 'http://127.0.0.1:8787/rt'],
    ['wss://example.com/ws', 'https://example.com/rt'],
    ['wss://example.com/switchboard/ws', 'https://example.com/switchboard/rt'],
    ['ws://example.com/', 'http://example.com/rt'],
  ])('%s → %s', (ws, http) => expect(httpBaseUrl(ws)).toBe(http));
});

describe('streaming', () => {
  test('frames arrive as bytes, each delivery (comments too) calls the hook, and every request carries the secret', async () => {
    const { fake, messages, delivered, socket } = await openSocket('streaming');
    expect(socket.readyState).toBe(1);
    const stream = await fake.next('GET', `${SESSION}/stream`);
    const sse = sseResponse();
    stream.respond(sse.response);
    sse.write(`data: ${b64(welcome())}\n\n: heartbeat\n\n`);
    sse.write(`id: ["news","e1",1]\ndata: ${b64({ t: 'pong', at: 5 })}\n\n`);
    await waitUntil('two frames', () => messages.length === 2);
    expect(messages.map((m) => m.t)).toEqual(['welcome', 'pong']);
    expect(delivered).toHaveLength(3);
    socket.send(codec.encode({ t: 'ping', at: 1 }));
    await fake.next('POST', `${SESSION}/frames`);
    for (const request of fake.requests.slice(1)) expect(request.headers[SESSION_HEADER]).toBe('sekret');
    expect(fake.requests[0]!.url).toBe('http://server.test/rt/sessions');
  });

  test("the server's `event: close` becomes onclose with its code and reason, and the session is not deleted", async () => {
    const { fake, closes, socket } = await openSocket('streaming');
    const sse = sseResponse();
    (await fake.next('GET', `${SESSION}/stream`)).respond(sse.response);
    sse.write('event: close\ndata: {"code":4010,"reason":"token refused"}\n\n');
    await waitUntil('the close', () => closes[0]);
    expect(closes).toEqual([{ code: 4010, reason: 'token refused' }]);
    expect(socket.readyState).toBe(3);
    expect(fake.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
  });

  test.each([
    ['the stream ends without a close', (sse: ReturnType<typeof sseResponse>) => sse.end()],
    ['the stream errors', (sse: ReturnType<typeof sseResponse>) => sse.error()],
  ])('%s: onclose 1006 and the session is deleted', async (_, breakIt) => {
    const { fake, closes } = await openSocket('streaming');
    const sse = sseResponse();
    (await fake.next('GET', `${SESSION}/stream`)).respond(sse.response);
    breakIt(sse);
    await waitUntil('the close', () => closes[0]);
    expect(closes[0]!.code).toBe(1006);
    expect((await fake.next('DELETE', SESSION)).headers[SESSION_HEADER]).toBe('sekret');
  });

  test('a stream answered with an error status is a 1006 close', async () => {
    const { fake, closes } = await openSocket('streaming');
    (await fake.next('GET', `${SESSION}/stream`)).respond(json(404, { error: 'Unknown session' }));
    await waitUntil('the close', () => closes[0]);
    expect(closes[0]).toMatchObject({ code: 1006, reason: 'stream answered 404' });
  });
});

describe('posting client frames', () => {
  test('frames sent in one turn share a POST; later frames wait for it; never two POSTs at once; order kept', async () => {
    const { fake, socket } = await openSocket('streaming');
    socket.send(codec.encode({ t: 'ping', at: 1 }));
    socket.send(codec.encode({ t: 'ping', at: 2 }));
    const first = await fake.next('POST', `${SESSION}/frames`);
    expect(clientFrames(fake, 0)).toMatchObject([{ ok: true, frame: { at: 1 } }, { ok: true, frame: { at: 2 } }]);
    socket.send(codec.encode({ t: 'ping', at: 3 }));
    socket.send(codec.encode({ t: 'ping', at: 4 }));
    // Several turns pass; the second batch is still held back by the first POST.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(fake.pending('POST', `${SESSION}/frames`)).toHaveLength(1);
    first.respond(new Response(null, { status: 204 }));
    await waitUntil('the second POST', () => fake.pending('POST', `${SESSION}/frames`).length === 1 && fake.pending('POST', `${SESSION}/frames`)[0] !== first);
    expect(clientFrames(fake, 0)).toMatchObject([{ ok: true, frame: { at: 3 } }, { ok: true, frame: { at: 4 } }]);
  });

  test('a POST that fails closes with 1006; send before open throws as on a WebSocket', async () => {
    const fake = createFakeFetch();
    const early = openHttpSocket(WS_URL, { fetch: fake.fetch, transport: 'long polling' });
    expect(() => early.send(new Uint8Array([1]))).toThrow();
    early.close();
    const { fake: f2, socket, closes } = await openSocket('long polling');
    socket.send(codec.encode({ t: 'ping', at: 1 }));
    (await f2.next('POST', `${SESSION}/frames`)).respond(json(413, { error: 'too large' }));
    await waitUntil('the close', () => closes[0]);
    expect(closes[0]).toMatchObject({ code: 1006, reason: 'posting frames answered 413' });
  });

  test('close() aborts the reads, deletes the session and reports the close once, later', async () => {
    const { fake, socket, closes } = await openSocket('long polling');
    const poll = await fake.next('GET', `${SESSION}/poll`);
    socket.close(4100, 'settings changed');
    expect(closes).toEqual([]);
    await waitUntil('the close', () => closes[0]);
    expect(poll.aborted).toBe(true);
    expect(closes).toEqual([{ code: 4100, reason: 'settings changed' }]);
    await fake.next('DELETE', SESSION);
    socket.send(codec.encode({ t: 'ping', at: 1 }));
    expect(fake.pending('POST', `${SESSION}/frames`)).toEqual([]);
  });
});

describe('long polling', () => {
  test('polls again after each answer, delivers frames in order, and ends with the close an answer carries', async () => {
    const { fake, messages, closes, delivered } = await openSocket('long polling');
    (await fake.next('GET', `${SESSION}/poll`)).respond(json(200, { from: 1, frames: [b64(welcome()), b64({ t: 'pong', at: 1 })] }));
    (await fake.next('GET', `${SESSION}/poll`)).respond(json(200, { from: 3, frames: [] }));
    (await fake.next('GET', `${SESSION}/poll`)).respond(json(200, { from: 3, frames: [b64({ t: 'pong', at: 2 })], close: { code: 1001, reason: 'server shutting down' } }));
    await waitUntil('the close', () => closes[0]);
    expect(messages.map((m) => m.t)).toEqual(['welcome', 'pong', 'pong']);
    expect(closes).toEqual([{ code: 1001, reason: 'server shutting down' }]);
    expect(delivered).toHaveLength(3);
  });

  test('an answer that does not follow on from the frames read (one went missing) is a 1006 close, and its frames are not delivered', async () => {
    const { fake, messages, closes } = await openSocket('long polling');
    (await fake.next('GET', `${SESSION}/poll`)).respond(json(200, { from: 1, frames: [b64(welcome())] }));
    // Frames 2 and 3 were answered to a poll that never came back (a proxy retried it).
    (await fake.next('GET', `${SESSION}/poll`)).respond(json(200, { from: 4, frames: [b64({ t: 'pong', at: 4 })] }));
    await waitUntil('the close', () => closes[0]);
    expect(closes[0]).toMatchObject({ code: 1006, reason: expect.stringContaining('a poll answer went missing: frame 2 was next, the answer starts at 4') });
    expect(messages.map((m) => m.t)).toEqual(['welcome']);
  });

  test('an answer with no position is a 1006 close', async () => {
    const { fake, closes } = await openSocket('long polling');
    (await fake.next('GET', `${SESSION}/poll`)).respond(json(200, { frames: [b64(welcome())] }));
    await waitUntil('the close', () => closes[0]);
    expect(closes[0]!.code).toBe(1006);
  });

  test('a poll that fails is a 1006 close', async () => {
    const { fake, closes } = await openSocket('long polling');
    (await fake.next('GET', `${SESSION}/poll`)).fail();
    await waitUntil('the close', () => closes[0]);
    expect(closes[0]!.code).toBe(1006);
  });
});

describe('opening', () => {
  test("a refused session closes with the socket's close it names (503) or 4003 (403); an unreachable server with 1006", async () => {
    for (const [answer, code] of [
      [(r: { respond(res: Response): void; fail(): void }) => r.respond(json(503, { error: 'full', close: { code: 1013, reason: 'server full' } })), 1013],
      [(r: { respond(res: Response): void; fail(): void }) => r.fail(), 1006],
      // The origin policy refuses with a bare 403: the refusal `/ws` gives as 4003.
      [(r: { respond(res: Response): void; fail(): void }) => r.respond(json(403, { error: 'Origin not allowed' })), 4003],
    ] as const) {
      const fake = createFakeFetch();
      const socket = openHttpSocket(WS_URL, { fetch: fake.fetch, transport: 'streaming' });
      const closes: number[] = [];
      socket.onclose = (event) => void closes.push(event.code);
      answer(await fake.next('POST', '/rt/sessions'));
      await waitUntil('the close', () => closes[0]);
      expect(closes).toEqual([code]);
    }
  });
});
