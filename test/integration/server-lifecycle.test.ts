/**
 * Connection lifecycle against a real server with a short heartbeat: the connections gauge is exact
 * on every close path, pings flow both ways, a silent client is closed with 4008, and `close()`
 * says goodbye with 1001.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import { startTestServer, type TestServer } from '../support/server';
import { connect, connectAndGreet, helloAnswer } from '../support/ws-client';

const HEARTBEAT_MS = 200;
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ heartbeatMs: HEARTBEAT_MS, handshakeTimeoutMs: 5_000 });
});
afterAll(() => server.close());

const gauge = () => server.metric('switchboard_ws_connections');

test('the connections gauge counts open sockets exactly and returns to 0 after every kind of close', async () => {
  expect(await gauge()).toBe(0);
  const a = await connectAndGreet(server.url);
  const b = await connectAndGreet(server.url);
  const c = await connect(server.url); // not greeted yet: still an open socket
  expect(await gauge()).toBe(3);
  expect(server.server.connectionCount()).toBe(3);

  await a.client.close();
  expect(await gauge()).toBe(2);

  b.client.send({ t: 'hello', v: 1, token: 'dev-token' }); // a second hello is only an error
  c.send({ t: 'hello', v: 99, token: 'dev-token' }); // server-side close (4001)
  await c.closed;
  expect(await gauge()).toBe(1);

  await helloAnswer(server.url, { origin: 'https://evil.example' }); // closed with 4003, never counted
  expect(await gauge()).toBe(1);

  b.client.ws.terminate(); // abrupt: the server only learns from the TCP close
  expect(await server.waitForMetric('switchboard_ws_connections', (n) => n === 0)).toBe(0);
});

test('welcome announces the heartbeat; the server pings and answers pings with the same time', async () => {
  const { client, welcome } = await connectAndGreet(server.url);
  expect(welcome.heartbeatMs).toBe(HEARTBEAT_MS);
  const ping = await client.nextOf('ping');
  expect(ping.at).toBeGreaterThan(0);
  client.send({ t: 'ping', at: 12345 });
  expect(await client.nextOf('pong')).toEqual({ t: 'pong', at: 12345 });
  await client.close();
});

test('a client that answers pings stays connected across several heartbeats', async () => {
  const { client } = await connectAndGreet(server.url); // autoPong on
  for (let i = 0; i < 5; i++) await client.nextOf('ping');
  expect(client.ws.readyState).toBe(client.ws.OPEN);
  await client.close();
});

test('a silent client is closed with 4008 ping timeout, counted', async () => {
  const { client } = await connectAndGreet(server.url, { autoPong: false });
  expect(await client.closed).toEqual({ code: CloseCode.pingTimeout, reason: 'ping timeout' });
  expect(client.received.filter((f) => f.t === 'ping').length).toBeGreaterThanOrEqual(2);
  expect(await server.metric('switchboard_connections_refused_total', { reason: 'ping-timeout' })).toBe(1);
  expect(await gauge()).toBe(0);
});

test('close() closes every socket with 1001 and refuses new connections', async () => {
  const other = await startTestServer();
  const { client } = await connectAndGreet(other.url);
  const pending = await connect(other.url);
  await other.close();
  expect(await client.closed).toEqual({ code: CloseCode.goingAway, reason: 'server going away' });
  expect((await pending.closed).code).toBe(CloseCode.goingAway);
  await expect(connect(other.url)).rejects.toThrow();
});
