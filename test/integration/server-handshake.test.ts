/**
 * The handshake and the upgrade gate against a real server: welcome, version and token refusals,
 * frames before hello, handshake timeout, the Origin allow-list and the endpoint path.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import { PROTOCOL_VERSION } from '../../lib/wire/protocol';
import { startTestServer, type TestServer } from '../support/server';
import { connect, connectAndGreet, connectRefused, helloAnswer } from '../support/ws-client';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ handshakeTimeoutMs: 300, allowedOrigins: ['https://app.example.com'] });
});
afterAll(() => server.close());

describe('handshake', () => {
  test('hello with the dev token gets a welcome naming session, user, heartbeat and limits', async () => {
    const before = Date.now();
    const { client, welcome } = await connectAndGreet(server.url);
    expect(welcome).toMatchObject({ t: 'welcome', v: PROTOCOL_VERSION, user: 'dev', heartbeatMs: 15_000, maxFrameBytes: 64 * 1024 });
    expect(welcome.session).toMatch(/^[0-9a-f-]{36}$/);
    expect(welcome.serverTime).toBeGreaterThanOrEqual(before);
    expect(await server.metric('switchboard_frames_received_total', { type: 'hello' })).toBeGreaterThanOrEqual(1);
    await client.close();
  });

  test('each connection gets its own session', async () => {
    const a = await connectAndGreet(server.url);
    const b = await connectAndGreet(server.url);
    expect(a.welcome.session).not.toBe(b.welcome.session);
    await Promise.all([a.client.close(), b.client.close()]);
  });

  test('another protocol version gets an error naming both versions, then close 4001, counted', async () => {
    const refusedBefore = await server.metric('switchboard_connections_refused_total', { reason: 'version' });
    const client = await connect(server.url);
    client.send({ t: 'hello', v: PROTOCOL_VERSION + 1, token: 'dev-token' });
    const error = await client.nextOf('error');
    expect(error.code).toBe('unsupported-version');
    expect(error.message).toContain(`version ${PROTOCOL_VERSION + 1}`);
    expect(error.message).toContain(`version ${PROTOCOL_VERSION}`);
    expect(await client.closed).toEqual({ code: CloseCode.unsupportedVersion, reason: 'unsupported protocol version' });
    expect(await server.metric('switchboard_connections_refused_total', { reason: 'version' })).toBe(refusedBefore + 1);
  });

  test('a wrong token gets an unauthorized error and close 4010, counted', async () => {
    const client = await connect(server.url);
    client.send({ t: 'hello', v: PROTOCOL_VERSION, token: 'not-the-token' });
    expect(await client.nextOf('error')).toMatchObject({ code: 'unauthorized' });
    expect((await client.closed).code).toBe(CloseCode.unauthorized);
    expect(await server.metric('switchboard_connections_refused_total', { reason: 'unauthorized' })).toBe(1);
  });

  test('any frame before hello gets not-ready and close 4000', async () => {
    const client = await connect(server.url);
    client.send({ t: 'subscribe', topic: 'prices:AAPL' });
    const error = await client.nextOf('error');
    expect(error.code).toBe('not-ready');
    expect(error.message).toContain('subscribe');
    expect((await client.closed).code).toBe(CloseCode.badFrame);
    expect(await server.metric('switchboard_connections_refused_total', { reason: 'not-ready' })).toBe(1);
  });

  test('a malformed frame before hello gets its error and close 4000', async () => {
    const client = await connect(server.url);
    client.sendRaw(new Uint8Array([0xc1]));
    expect(await client.nextOf('error')).toMatchObject({ code: 'bad-frame' });
    expect((await client.closed).code).toBe(CloseCode.badFrame);
  });

  test('silence after the upgrade closes with 4002 after the handshake timeout, counted', async () => {
    const client = await connect(server.url);
    expect(await client.closed).toEqual({ code: CloseCode.handshakeTimeout, reason: 'handshake timeout' });
    expect(await server.metric('switchboard_connections_refused_total', { reason: 'handshake-timeout' })).toBe(1);
  });

  test('a second hello after the welcome is rejected and the connection stays', async () => {
    const { client } = await connectAndGreet(server.url);
    client.send({ t: 'hello', v: PROTOCOL_VERSION, token: 'dev-token' });
    expect(await client.nextOf('error')).toMatchObject({ code: 'invalid' });
    client.send({ t: 'ping', at: 1 });
    expect(await client.nextOf('pong')).toEqual({ t: 'pong', at: 1 });
    await client.close();
  });
});

describe('origin allow-list', () => {
  test('a foreign origin is closed at once with 4003, nothing read or served, counted by reason and never as a connection', async () => {
    const helloBefore = await server.metric('switchboard_frames_received_total', { type: 'hello' });
    const refused = await helloAnswer(server.url, { origin: 'https://evil.example' });
    expect(refused).toEqual({ answer: 'closed', close: { code: CloseCode.originForbidden, reason: 'origin not allowed' }, received: [] });
    expect(await server.metric('switchboard_connections_refused_total', { reason: 'origin' })).toBe(1);
    expect(await server.metric('switchboard_frames_received_total', { type: 'hello' })).toBe(helloBefore);
    expect(await server.metric('switchboard_ws_connections')).toBe(0);
  });

  test.each([
    ['no Origin header (non-browser client)', undefined],
    ['an allowed origin', 'https://app.example.com'],
    ['a Chrome extension origin in development', 'chrome-extension://abcdefghijklmnopabcdefghijklmnop'],
    ['a Firefox extension origin in development', 'moz-extension://0b9d3f2e-6a8c-4b5e-9f1a-2c3d4e5f6a7b'],
  ])('%s is accepted', async (_name, origin) => {
    const { client, welcome } = await connectAndGreet(server.url, origin === undefined ? {} : { origin });
    expect(welcome.user).toBe('dev');
    await client.close();
  });

  test("the server's own origin is accepted under its loopback names", async () => {
    for (const host of ['127.0.0.1', 'localhost']) {
      const { client } = await connectAndGreet(server.url, { origin: `http://${host}:${server.port}` });
      await client.close();
    }
  });

  test('extension origins are refused in production unless listed', async () => {
    const production = await startTestServer({ allowExtensionOrigins: false, allowedOrigins: ['chrome-extension://listedextensionid'] });
    try {
      expect(await helloAnswer(production.url, { origin: 'chrome-extension://otherextensionid' })).toMatchObject({ answer: 'closed', close: { code: CloseCode.originForbidden } });
      const { client } = await connectAndGreet(production.url, { origin: 'chrome-extension://listedextensionid' });
      await client.close();
    } finally {
      await production.close();
    }
  });

  test('an upgrade on another path is refused with 404', async () => {
    expect((await connectRefused(server.url, { path: '/socket' })).status).toBe(404);
  });
});
