/**
 * Hostile and broken input after the handshake: each bad frame gets an error frame that names the
 * evidence and is counted; the connection survives until it exceeds its allowance; oversize
 * messages close with 1009; none of it disturbs other clients.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import { startTestServer, TEST_DEV_TOKEN, type TestServer } from '../support/server';
import { connect, connectAndGreet, type TestClient } from '../support/ws-client';

let server: TestServer;

beforeAll(async () => {
  // The ordering test below sends 300 subscribes at once, more than the default burst allows.
  server = await startTestServer({ maxBadFrames: 10, limits: { subscribeRate: { burst: 300, perSecond: 20 } } });
});
afterAll(() => server.close());

/** The connection still answers: a ping gets its pong. */
async function expectAlive(client: TestClient, at: number): Promise<void> {
  client.send({ t: 'ping', at });
  expect(await client.nextOf('pong', (f) => f.at === at)).toEqual({ t: 'pong', at });
}

const rejected = (code: string) => server.metric('switchboard_frames_rejected_total', { code });

test.each<[string, (client: TestClient) => void, string, RegExp]>([
  ['malformed msgpack (0xc1)', (c) => c.sendRaw(new Uint8Array([0xc1])), 'bad-frame', /Malformed msgpack.*0xc1/i],
  ['truncated msgpack', (c) => c.sendRaw(new Uint8Array([0x82, 0xa1, 0x74])), 'bad-frame', /Malformed msgpack/],
  ['an unknown frame type', (c) => c.sendValue({ t: 'launch', missiles: true }), 'unknown-frame', /Unknown frame type: "launch"/],
  ['a frame without a tag', (c) => c.sendValue({ topic: 'prices:AAPL' }), 'bad-frame', /string tag "t"/],
  ['a top-level array', (c) => c.sendValue(['subscribe', 'prices:AAPL']), 'bad-frame', /must be a map/],
  ['a text frame', (c) => c.sendRaw('{"t":"ping","at":1}'), 'bad-frame', /Text frames are not accepted/],
  ['a wrong field type', (c) => c.sendValue({ t: 'subscribe', topic: 42 }), 'bad-frame', /Invalid subscribe frame: topic/],
  ['a missing field', (c) => c.sendValue({ t: 'ping' }), 'bad-frame', /Invalid ping frame: at/],
  ['a NaN timestamp', (c) => c.sendValue({ t: 'ping', at: Number.NaN }), 'bad-frame', /Invalid ping frame: at/],
  ['a __proto__ key', (c) => c.sendRaw(new Uint8Array([0x82, 0xa1, 0x74, 0xa4, 0x70, 0x69, 0x6e, 0x67, 0xa9, ...Buffer.from('__proto__'), 0x80])), 'bad-frame', /__proto__/],
])('%s gets an error frame, is counted, and the connection survives', async (_name, sendBad, code, message) => {
  const { client } = await connectAndGreet(server.url);
  const before = await rejected(code);
  sendBad(client);
  const error = await client.nextOf('error');
  expect(error.code).toBe(code);
  expect(error.message).toMatch(message);
  expect(await rejected(code)).toBe(before + 1);
  await expectAlive(client, 7);
  await client.close();
});

test('more than maxBadFrames bad frames close the connection with 4000, counted', async () => {
  const { client } = await connectAndGreet(server.url);
  for (let i = 0; i < 11; i++) client.sendRaw(new Uint8Array([0xc1]));
  expect(await client.closed).toEqual({ code: CloseCode.badFrame, reason: 'too many bad frames' });
  expect(client.received.filter((f) => f.t === 'error')).toHaveLength(11);
  expect(await server.metric('switchboard_connections_refused_total', { reason: 'bad-frames' })).toBe(1);
});

test('an oversize message closes that connection with 1009, is counted, and others are still served', async () => {
  const bystander = await connectAndGreet(server.url);
  const { client } = await connectAndGreet(server.url);
  const before = await rejected('too-large');
  client.sendRaw(new Uint8Array(64 * 1024 + 1));
  expect((await client.closed).code).toBe(CloseCode.tooLarge);
  expect(await rejected('too-large')).toBe(before + 1);
  await expectAlive(bystander.client, 9);
  const fresh = await connectAndGreet(server.url);
  await expectAlive(fresh.client, 10);
  await Promise.all([bystander.client.close(), fresh.client.close()]);
});

test('client messages of an unknown kind get a failed ack with the same id', async () => {
  const { client } = await connectAndGreet(server.url);
  client.send({ t: 'send', id: 'msg-1', kind: 'rocket', body: { x: 1 } });
  expect(await client.nextOf('ack')).toMatchObject({ id: 'msg-1', ok: false, error: { code: 'invalid' } });
  await client.close();
});

test('a refresh with a refused token closes with 4010; a valid one keeps the connection', async () => {
  const { client } = await connectAndGreet(server.url);
  client.send({ t: 'refresh', token: TEST_DEV_TOKEN });
  expect(await client.nextOf('refreshed')).toMatchObject({ user: 'dev' });
  await expectAlive(client, 11);
  client.send({ t: 'refresh', token: 'stolen' });
  expect(await client.nextOf('error')).toMatchObject({ code: 'unauthorized' });
  expect((await client.closed).code).toBe(CloseCode.unauthorized);
});

test('a handler that throws closes only its connection with 1011, counted; the server carries on', async () => {
  const fragile = await startTestServer({
    verifyToken: (token) => {
      if (token === 'boom') throw new Error('verifier bug');
      return { ok: true, user: 'dev' };
    },
  });
  try {
    const bystander = await connectAndGreet(fragile.url);
    const victim = await connect(fragile.url);
    victim.send({ t: 'hello', v: 1, token: 'boom' });
    expect(await victim.closed).toEqual({ code: CloseCode.internalError, reason: 'server error' });
    expect(await fragile.metric('switchboard_handler_errors_total')).toBe(1);
    await expectAlive(bystander.client, 12);
    await bystander.client.close();
  } finally {
    await fragile.close();
  }
});

test('frames sent right behind hello wait for the welcome and are answered in order', async () => {
  const client = await connect(server.url);
  client.send({ t: 'hello', v: 1, token: TEST_DEV_TOKEN });
  const topics = Array.from({ length: 300 }, (_, i) => `prices:S${i}`);
  for (const topic of topics) client.send({ t: 'subscribe', topic });
  await client.nextOf('welcome');
  for (const topic of topics) expect(await client.next()).toEqual({ t: 'subscribed', topic, mode: 'state' });
  expect(client.received[0]?.t).toBe('welcome');
  await client.close();
});

test('a client flooding frames while its token is being checked is closed with 1008, counted', async () => {
  let release!: () => void;
  const slow = await startTestServer({
    verifyToken: () => new Promise((resolve) => (release = () => resolve({ ok: true, user: 'dev' }))),
  });
  try {
    const client = await connect(slow.url);
    client.send({ t: 'hello', v: 1, token: 'any' });
    for (let i = 0; i < 1100; i++) client.send({ t: 'ping', at: i });
    expect(await client.closed).toEqual({ code: 1008, reason: 'too many frames in flight' });
    release();
    expect(await slow.metric('switchboard_connections_refused_total', { reason: 'bad-frames' })).toBe(1);
  } finally {
    await slow.close();
  }
});
