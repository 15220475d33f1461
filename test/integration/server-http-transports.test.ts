/**
 * What only the HTTP transports have, against a real server with short intervals: session
 * creation and the secret header (unknown id 404, no secret 401, wrong secret 403, nothing
 * changes), malformed and oversize POSTs (400 / 413, the session carries on), client frames the
 * codec refuses (answered with an `error` frame, as on `/ws`), the Origin policy (403, counted; CORS
 * for the origins it allows),
 * heartbeat comments and event ids on the stream, an empty poll on timeout, expiry of a session
 * nobody reads (its subscriptions and its place under the per-user cap released), a read the client
 * cuts ending its session at once, the server's
 * shutdown closing sessions with 1001, the sessions gauge and the frame counters by transport.
 */
import { encode } from '@msgpack/msgpack';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { connectHttp, createSession, type HttpTestClient } from '../support/http-client';
import { poll } from '../support/poll';
import { startTestServer, type TestServer } from '../support/server';
import { SESSION_HEADER } from '../../lib/wire/http-transport';


let clients: HttpTestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
});

async function greet(server: TestServer, transport: 'stream' | 'poll', user = 'dev'): Promise<HttpTestClient> {
  const client = await connectHttp(server.url, transport);
  clients.push(client);
  await client.hello({ token: await server.mintToken(user) });
  return client;
}

describe('HTTP transports', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ streamHeartbeatMs: 50, pollTimeoutMs: 100, sessionIdleMs: 300, limits: { maxClientsPerUser: 1 } });
  });
  afterAll(() => server.close());

  test('POST /rt/sessions answers an unguessable id and a secret; the secret is never in a URL', async () => {
    const a = await createSession(server.url);
    const b = await createSession(server.url);
    expect(a.session).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(a.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.session).not.toBe(b.session);
  });

  test('unknown session 404, no secret 401, wrong secret 403: nothing is delivered', async () => {
    const client = await greet(server, 'poll', 'eve');
    const frame = JSON.stringify([Buffer.from(encode({ t: 'subscribe', topic: 'feed:eve' })).toString('base64')]);
    const post = (url: string, headers: Record<string, string>) => fetch(`${url}/frames`, { method: 'POST', headers, body: frame }).then((r) => r.status);
    expect(await post(`${server.url}/rt/sessions/AAAAAAAAAAAAAAAAAAAAAA`, { [SESSION_HEADER]: client.secret })).toBe(404);
    expect(await post(client.sessionUrl, {})).toBe(401);
    expect(await post(client.sessionUrl, { [SESSION_HEADER]: `${client.secret.slice(1)}x` })).toBe(403);
    expect((await fetch(`${client.sessionUrl}/poll`, { headers: { [SESSION_HEADER]: 'nope' } })).status).toBe(403);
    expect(server.server.streamSubscribers('feed:eve')).toBe(0);
    // The session itself is untouched.
    expect(await client.subscribe('feed:eve')).toMatchObject({ t: 'subscribed' });
  });

  test('a malformed or oversize body is refused with 400 / 413 and the session carries on', async () => {
    const client = await greet(server, 'stream');
    const post = (body: string) => fetch(`${client.sessionUrl}/frames`, { method: 'POST', headers: { [SESSION_HEADER]: client.secret }, body });
    expect((await post('not json')).status).toBe(400);
    expect((await post('{"t":"hello"}')).status).toBe(400);
    expect((await post('[]')).status).toBe(400);
    expect((await post('["@@not base64@@"]')).status).toBe(400);
    expect((await post(JSON.stringify([42]))).status).toBe(400);
    expect((await post(JSON.stringify(['A'.repeat(300 * 1024)]))).status).toBe(413);
    expect((await post(JSON.stringify(Array.from({ length: 65 }, () => 'AA==')))).status).toBe(413);
    expect(await client.subscribe('news')).toMatchObject({ t: 'subscribed' });
  });

  test('a frame the codec refuses is answered with an error frame, as on /ws', async () => {
    const client = await greet(server, 'poll');
    const res = await fetch(`${client.sessionUrl}/frames`, {
      method: 'POST',
      headers: { [SESSION_HEADER]: client.secret },
      body: JSON.stringify([Buffer.from([0xc1]).toString('base64'), Buffer.from(encode({ t: 'nonsense' })).toString('base64')]),
    });
    expect(res.status).toBe(204);
    expect(await client.nextOf('error')).toMatchObject({ code: 'bad-frame' });
    expect(await client.nextOf('error')).toMatchObject({ code: 'unknown-frame' });
    expect(await client.subscribe('news')).toMatchObject({ t: 'subscribed' });
  });

  test('an origin the policy refuses gets 403, counted', async () => {
    const before = await server.metric('switchboard_connections_refused_total', { reason: 'origin' });
    const res = await fetch(`${server.url}/rt/sessions`, { method: 'POST', headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    expect(await server.metric('switchboard_connections_refused_total', { reason: 'origin' })).toBe(before + 1);
  });

  test('an allowed origin gets CORS answers and preflights; a refused one gets neither', async () => {
    const extension = 'chrome-extension://abcdefghijklmnopabcdefghijklmnop';
    const preflight = await fetch(`${server.url}/rt/sessions/AAAAAAAAAAAAAAAAAAAAAA/frames`, {
      method: 'OPTIONS',
      headers: { origin: extension, 'access-control-request-method': 'POST', 'access-control-request-headers': SESSION_HEADER },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(extension);
    expect(preflight.headers.get('access-control-allow-headers')).toContain(SESSION_HEADER);
    const created = await fetch(`${server.url}/rt/sessions`, { method: 'POST', headers: { origin: extension } });
    expect(created.status).toBe(201);
    expect(created.headers.get('access-control-allow-origin')).toBe(extension);
    const foreign = await fetch(`${server.url}/rt/sessions`, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('GET /rt/sessions says a session could be made, with CORS for an allowed origin, and makes none; a refused origin gets 403', async () => {
    const extension = 'moz-extension://5b0c7d1e-2f3a-4b5c-8d9e-0a1b2c3d4e5f';
    const before = await server.metric('switchboard_http_sessions', { transport: 'none' });
    const answer = await fetch(`${server.url}/rt/sessions`, { headers: { origin: extension } });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ ok: true });
    expect(answer.headers.get('access-control-allow-origin')).toBe(extension);
    expect(await server.metric('switchboard_http_sessions', { transport: 'none' })).toBe(before);
    const foreign = await fetch(`${server.url}/rt/sessions`, { headers: { origin: 'https://evil.example' } });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    expect((await fetch(`${server.url}/rt/sessions`, { method: 'PUT' })).status).toBe(405);
  });

  test('the stream carries heartbeat comments and event ids that name the position', async () => {
    const client = await greet(server, 'stream');
    await client.subscribe('feed:dev');
    const published = await server.publishNotification('dev', { title: 't', body: 'b' });
    await client.untilEvent('feed:dev', published.seq);
    await poll('two heartbeats', () => client.heartbeats() >= 3);
    expect(client.eventIds.at(-1)).toBe(JSON.stringify(['feed:dev', published.epoch, published.seq]));
    expect(await server.metric('switchboard_http_sessions', { transport: 'stream' })).toBeGreaterThanOrEqual(1);
  });

  test('the stream is text/event-stream with no caching and no proxy buffering', async () => {
    const { session, secret } = await createSession(server.url);
    const abort = new AbortController();
    const res = await fetch(`${server.url}/rt/sessions/${session}/stream`, { headers: { [SESSION_HEADER]: secret }, signal: abort.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('cache-control')).toMatch(/no-cache/);
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    abort.abort();
    await fetch(`${server.url}/rt/sessions/${session}`, { method: 'DELETE', headers: { [SESSION_HEADER]: secret } });
  });

  test('frame counters carry the transport', async () => {
    const before = await server.metric('switchboard_frames_sent_total', { type: 'welcome', transport: 'http' });
    const wsBefore = await server.metric('switchboard_frames_sent_total', { type: 'welcome', transport: 'websocket' });
    await greet(server, 'poll', 'counted');
    expect(await server.metric('switchboard_frames_sent_total', { type: 'welcome', transport: 'http' })).toBe(before + 1);
    expect(await server.metric('switchboard_frames_received_total', { type: 'hello', transport: 'http' })).toBeGreaterThanOrEqual(1);
    expect(await server.metric('switchboard_frames_sent_total', { type: 'welcome', transport: 'websocket' })).toBe(wsBefore);
  });

  test('refusals, rejected frames and client messages carry the transport too', async () => {
    const count = (name: string, labels: Record<string, string>) =>
      Promise.all((['http', 'websocket'] as const).map((transport) => server.metric(name, { ...labels, transport })));
    const refusedBefore = await count('switchboard_connections_refused_total', { reason: 'origin' });
    const rejectedBefore = await count('switchboard_frames_rejected_total', { code: 'bad-frame' });
    const messagesBefore = await count('switchboard_client_messages_total', { kind: 'other', outcome: 'refused' });

    expect((await fetch(`${server.url}/rt/sessions`, { method: 'POST', headers: { origin: 'https://evil.example' } })).status).toBe(403);
    const client = await greet(server, 'stream', 'labelled');
    await fetch(`${client.sessionUrl}/frames`, { method: 'POST', headers: { [SESSION_HEADER]: client.secret }, body: JSON.stringify([Buffer.from([0xc1]).toString('base64')]) });
    expect(await client.nextOf('error')).toMatchObject({ code: 'bad-frame' });
    expect(await client.message('no-such-kind', {})).toMatchObject({ ok: false, error: { code: 'invalid' } });

    // One more on the http series each; none on the websocket ones.
    expect(await count('switchboard_connections_refused_total', { reason: 'origin' })).toEqual([refusedBefore[0]! + 1, refusedBefore[1]]);
    expect(await count('switchboard_frames_rejected_total', { code: 'bad-frame' })).toEqual([rejectedBefore[0]! + 1, rejectedBefore[1]]);
    expect(await count('switchboard_client_messages_total', { kind: 'other', outcome: 'refused' })).toEqual([messagesBefore[0]! + 1, messagesBefore[1]]);
  });

  test('a poll with nothing to send is answered with no frames once it times out', async () => {
    const { session, secret } = await createSession(server.url);
    const headers = { [SESSION_HEADER]: secret };
    const url = `${server.url}/rt/sessions/${session}`;
    const hello = Buffer.from(encode({ t: 'hello', v: 1, token: await server.mintToken('quiet'), client: 'test' })).toString('base64');
    await fetch(`${url}/frames`, { method: 'POST', headers, body: JSON.stringify([hello]) });
    const welcome = (await (await fetch(`${url}/poll`, { headers })).json()) as { from: number; frames: string[] };
    expect(welcome).toMatchObject({ from: 1, frames: [expect.any(String)] });
    const started = performance.now();
    const res = await fetch(`${url}/poll`, { headers });
    expect(res.status).toBe(200);
    // Nothing this time; the next frame will be the session's second.
    expect(await res.json()).toEqual({ from: 2, frames: [] });
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
    await fetch(url, { method: 'DELETE', headers });
  });

  test('a session nobody reads expires: closed with 4008, its subscriptions and its place released', async () => {
    const { session, secret } = await createSession(server.url);
    const headers = { [SESSION_HEADER]: secret };
    const token = await server.mintToken('idle');
    const hello = Buffer.from(encode({ t: 'hello', v: 1, token, client: 'test' })).toString('base64');
    const subscribe = Buffer.from(encode({ t: 'subscribe', topic: 'feed:idle' })).toString('base64');
    const url = `${server.url}/rt/sessions/${session}`;
    expect((await fetch(`${url}/frames`, { method: 'POST', headers, body: JSON.stringify([hello, subscribe]) })).status).toBe(204);
    await poll('subscribed', () => server.server.streamSubscribers('feed:idle') === 1);
    // Nobody polls: the session expires.
    await poll('released', () => server.server.streamSubscribers('feed:idle') === 0);
    const last = (await (await fetch(`${url}/poll`, { headers })).json()) as { frames: string[]; close?: { code: number; reason: string } };
    expect(last.close).toMatchObject({ code: 4008, reason: expect.stringMatching(/session expired/) });
    expect((await fetch(`${url}/poll`, { headers })).status).toBe(404);
    // The user's one place (maxClientsPerUser 1) is free again.
    const again = await greet(server, 'poll', 'idle');
    expect(await again.subscribe('feed:idle')).toMatchObject({ t: 'subscribed' });
  });

  test('DELETE ends the session: its subscriptions are released', async () => {
    const client = await connectHttp(server.url, 'poll');
    await client.hello({ token: await server.mintToken('leaver') });
    await client.subscribe('feed:leaver');
    expect(server.server.streamSubscribers('feed:leaver')).toBe(1);
    await client.close();
    await poll('released', () => server.server.streamSubscribers('feed:leaver') === 0);
  });
});

test.each(['stream', 'poll'] as const)('a read the client cuts ends its session at once over %s: subscriptions released, not kept until expiry', async (transport) => {
  // Sessions expire after the default 60 s: a release within the wait can only come from the cut.
  const server = await startTestServer();
  try {
    const client = await greet(server, transport, 'cutter');
    await client.subscribe('feed:cutter');
    expect(server.server.streamSubscribers('feed:cutter')).toBe(1);
    // The read is in flight on the server (a long poll is between two answers now and then).
    await server.waitForMetric('switchboard_http_sessions', (n) => n === 1, { transport });
    client.cut();
    await poll('released', () => server.server.streamSubscribers('feed:cutter') === 0);
    expect(await server.metric('switchboard_http_sessions', { transport: 'none' })).toBe(0);
  } finally {
    await server.close();
  }
});

test.each(['stream', 'poll'] as const)('a replay of 3000 events arrives whole, in order, once, over %s', async (transport) => {
  // Small buffers: a poll answer carries at most 16 KiB, so the replay takes many polls.
  const server = await startTestServer({ maxBufferedBytes: 16 * 1024 });
  try {
    const first = await server.publishNews({ title: 'n1', body: 'b' });
    for (let i = 2; i <= 3000; i++) await server.server.publishEvent('news', { title: `n${i}`, body: 'b', level: 'info' });
    const client = await connectHttp(server.url, transport);
    await client.hello();
    expect(await client.subscribe('news', { since: { epoch: first.epoch, seq: 0 } })).toMatchObject({ recovery: 'recovered' });
    await client.untilEvent('news', 3000);
    expect(client.events('news').map((e) => e.seq)).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
    await client.close();
  } finally {
    await server.close();
  }
});

test('a stream and a long poll outlive the HTTP request and keep-alive timeouts', async () => {
  const server = await startTestServer({ pollTimeoutMs: 400, limits: { headersTimeoutMs: 50, requestTimeoutMs: 100, keepAliveTimeoutMs: 50 } });
  try {
    const stream = await connectHttp(server.url, 'stream');
    const polling = await connectHttp(server.url, 'poll');
    await stream.hello();
    await polling.hello();
    // Time itself is what is tested here: five request timeouts pass with a stream open and a poll pending.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await stream.subscribe('news');
    await polling.subscribe('news');
    const published = await server.publishNews({ title: 'still there', body: 'b' });
    await stream.untilEvent('news', published.seq);
    await polling.untilEvent('news', published.seq);
  } finally {
    await server.close();
  }
});

test('shutdown closes every session with 1001, streaming or polling', async () => {
  const server = await startTestServer({ pollTimeoutMs: 60_000 });
  const stream = await connectHttp(server.url, 'stream');
  const polling = await connectHttp(server.url, 'poll');
  await stream.hello();
  await polling.hello();
  // A poll is pending (a client between two polls would see its connection cut, as a socket's 1006).
  await server.waitForMetric('switchboard_http_sessions', (n) => n === 1, { transport: 'poll' });
  await server.close();
  expect(await stream.closed).toMatchObject({ code: 1001 });
  expect(await polling.closed).toMatchObject({ code: 1001 });
});
