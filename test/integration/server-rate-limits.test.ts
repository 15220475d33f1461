/**
 * Rate limits and connection caps on a real server: a frame flood is answered `rate-limited` and
 * then closed with 4029 while a good client on the same server is served; `send` is limited per
 * connection and per user; a user's connections, an address's pending connections and the
 * server's connections are capped, each refusal with its error and close code. Limits are made
 * tiny through options (and refills nearly nil) so that counts, not timing, decide each outcome.
 */
import { expect, test } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import type { ServerFrame } from '../../lib/wire/protocol';
import { onCleanup, serve, useCleanups } from '../support/cleanups';
import { TEST_DEV_TOKEN } from '../support/server';
import { connect, connectAndGreet, type CloseInfo, type TestClient } from '../support/ws-client';

useCleanups();

/** A rate that does not refill within any test's lifetime. */
const frozen = (burst: number) => ({ burst, perSecond: 0.001 });

/** Closes `client` after the test if it is still open. */
function later(client: TestClient): TestClient {
  onCleanup(() => void client.close());
  return client;
}

/** The connection still answers: a ping gets its pong. */
async function expectServed(client: TestClient, at: number): Promise<void> {
  client.send({ t: 'ping', at });
  expect(await client.nextOf('pong', (f) => f.at === at)).toEqual({ t: 'pong', at });
}

/** Which comes first: the close, or a frame matching `predicate` (the sign the limit did not act). */
function closeOr(client: TestClient, predicate: (frame: ServerFrame) => boolean): Promise<CloseInfo | ServerFrame> {
  return Promise.race([client.closed, client.until(predicate).catch(() => client.closed)]);
}

const isError = (frame: ServerFrame): frame is Extract<ServerFrame, { t: 'error' }> => frame.t === 'error';

test('a subscribe flood gets rate-limited errors, then close 4029, while a good client is served', async () => {
  const server = await serve({ limits: { subscribeRate: frozen(5), maxRateLimited: 5, rateLimitWindowMs: 60_000 } });
  const good = later((await connectAndGreet(server.url)).client);
  expect(await good.subscribe('prices:AAPL')).toMatchObject({ t: 'subscribed' });
  const { client: flooder } = await connectAndGreet(server.url);

  for (let i = 0; i < 200; i++) flooder.send({ t: 'subscribe', topic: `prices:S${i}` });
  flooder.send({ t: 'ping', at: 1 });
  expect(await closeOr(flooder, (f) => f.t === 'pong')).toEqual({ code: CloseCode.rateLimited, reason: 'rate limited' });

  const subscribed = flooder.received.filter((f) => f.t === 'subscribed');
  expect(subscribed.map((f) => f.t === 'subscribed' && f.topic)).toEqual(['prices:S0', 'prices:S1', 'prices:S2', 'prices:S3', 'prices:S4']);
  const errors = flooder.received.filter(isError);
  // Five refusals are tolerated, the sixth closes: six answers naming their topic, then the reason.
  expect(errors).toHaveLength(7);
  expect(errors[0]).toMatchObject({ code: 'rate-limited', topic: 'prices:S5', retryAfterMs: expect.any(Number) });
  expect(errors[0]!.message).toMatch(/^Rate limited: too many subscribe frames .*5 at once.*; retry in \d+ ms$/);
  expect(errors[0]!.retryAfterMs).toBeGreaterThan(0);
  expect(errors[6]).toMatchObject({ code: 'rate-limited', message: expect.stringMatching(/more than 5 frames refused/) });
  expect(errors[6]).not.toHaveProperty('topic');

  await server.publishPrice('AAPL', 101);
  server.server.flush();
  await good.until((f) => f.t === 'batch' || f.t === 'state');
  await expectServed(good, 2);
  expect(await server.metric('switchboard_frames_rate_limited_total', { type: 'subscribe' })).toBe(6);
  expect(await server.metric('switchboard_connections_refused_total', { reason: 'rate-limited' })).toBe(1);
});

test('send is limited per connection and per user with a failed ack, other users untouched', async () => {
  const server = await serve({ limits: { sendRate: frozen(3), userSendRate: frozen(4) } });
  const a = later((await connectAndGreet(server.url)).client);
  const b = later((await connectAndGreet(server.url)).client);
  const alice = later((await connectAndGreet(server.url, { token: await server.mintToken('alice') })).client);

  // Unknown kinds are refused as invalid once handled: an `invalid` ack proves the send got through.
  for (let i = 0; i < 3; i++) expect(await a.message('rocket', {})).toMatchObject({ ok: false, error: { code: 'invalid' } });
  const perConnection = await a.message('rocket', {}, 'a-4');
  expect(perConnection).toMatchObject({ id: 'a-4', ok: false, error: { code: 'rate-limited', retryAfterMs: expect.any(Number) } });
  expect(perConnection.ok ? '' : perConnection.error.message).toMatch(/too many send frames \(3 at once, .* per connection\)/);

  expect(await b.message('rocket', {})).toMatchObject({ ok: false, error: { code: 'invalid' } });
  const perUser = await b.message('rocket', {}, 'b-2');
  expect(perUser.ok ? '' : perUser.error.message).toMatch(/too many send frames \(4 at once, .* for user dev\)/);

  expect(await alice.message('rocket', {})).toMatchObject({ ok: false, error: { code: 'invalid' } });
  await expectServed(a, 3);
  expect(await server.metric('switchboard_frames_rate_limited_total', { type: 'send' })).toBe(2);
});

test('a ping flood gets no pongs past its allowance and is closed with 4029', async () => {
  const server = await serve({ limits: { controlRate: frozen(3), maxRateLimited: 4 } });
  const { client } = await connectAndGreet(server.url);
  for (let i = 0; i < 100; i++) client.send({ t: 'ping', at: i });
  client.send({ t: 'subscribe', topic: 'news' });
  expect(await closeOr(client, (f) => f.t === 'subscribed')).toEqual({ code: CloseCode.rateLimited, reason: 'rate limited' });
  expect(client.received.filter((f) => f.t === 'pong')).toHaveLength(3);
  expect(await server.metric('switchboard_frames_rate_limited_total', { type: 'ping' })).toBe(5);
});

test('a user over its connection cap is refused at hello with 4013; its other connections and other users are served', async () => {
  const server = await serve({ limits: { maxClientsPerUser: 2 } });
  const first = (await connectAndGreet(server.url)).client;
  const second = later((await connectAndGreet(server.url)).client);

  const third = await connect(server.url);
  third.send({ t: 'hello', v: 1, token: TEST_DEV_TOKEN });
  expect(await closeOr(third, (f) => f.t === 'welcome')).toEqual({ code: CloseCode.tooManyConnections, reason: 'too many connections for this user' });
  expect(third.received).toEqual([
    { t: 'error', code: 'rate-limited', message: expect.stringMatching(/^Too many connections for user dev: at most 2 at once/) },
  ]);

  await expectServed(first, 1);
  await expectServed(second, 2);
  later((await connectAndGreet(server.url, { token: await server.mintToken('alice') })).client);
  expect(await server.metric('switchboard_connections_refused_total', { reason: 'too-many-connections' })).toBe(1);

  // A slot freed is a slot taken.
  await first.close();
  later((await connectAndGreet(server.url)).client);
});

test('connections waiting to sign in are capped per address with 1013; other addresses and signed-in ones are not', async () => {
  const server = await serve({ limits: { maxPendingPerAddress: 2 } });
  const waiting = [later(await connect(server.url)), later(await connect(server.url))];

  const over = await connect(server.url);
  over.send({ t: 'hello', v: 1, token: TEST_DEV_TOKEN });
  expect(await closeOr(over, (f) => f.t === 'welcome')).toEqual({ code: CloseCode.tryAgainLater, reason: 'too many pending connections' });
  expect(over.received[0]).toMatchObject({ t: 'error', code: 'rate-limited', message: expect.stringMatching(/^Too many connections from your address waiting to sign in \(at most 2\)/) });

  // Another address on loopback has its own count.
  await later(await connect(server.url, { localAddress: '127.0.0.2' })).hello();
  // Signing in frees a pending place.
  await waiting[0]!.hello();
  await later(await connect(server.url)).hello();
  expect(await server.metric('switchboard_connections_refused_total', { reason: 'too-many-pending' })).toBe(1);
});

test('over the server-wide cap a connection is closed with 1013 and told why; the others are served', async () => {
  const server = await serve({ limits: { maxClients: 2 } });
  const one = later((await connectAndGreet(server.url)).client);
  later(await connect(server.url, { localAddress: '127.0.0.3' }));

  const over = await connect(server.url, { localAddress: '127.0.0.4' });
  over.send({ t: 'hello', v: 1, token: TEST_DEV_TOKEN });
  expect(await closeOr(over, (f) => f.t === 'welcome')).toEqual({ code: CloseCode.tryAgainLater, reason: 'server busy' });
  expect(over.received[0]).toMatchObject({ t: 'error', code: 'rate-limited', message: expect.stringMatching(/^Server busy: it holds its limit of 2 connections/) });
  await expectServed(one, 1);
  expect(await server.metric('switchboard_connections_refused_total', { reason: 'server-busy' })).toBe(1);
});
