/**
 * Access tokens against a real server: a token minted through the admin API opens a connection for
 * its user; forged, expired, garbage, misaddressed and the old fixed dev token are each refused
 * with an `unauthorized` error and their own close code (4010, or 4011 for expired), counted by
 * reason; another user's feed is forbidden; `refresh` keeps the connection for the same user and
 * closes it for another; a token expiring while connected closes the connection with 4011.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import { PROTOCOL_VERSION } from '../../lib/wire/protocol';
import { signTestToken, startTestServer, type TestServer } from '../support/server';
import { connect, connectAndGreet, type TestClient } from '../support/ws-client';

const refused = (server: TestServer, reason: string) => server.metric('switchboard_connections_refused_total', { reason });

/** Sends `hello` with `token` and resolves with the error frame and the close. */
async function refusedHello(server: TestServer, token: string) {
  const client = await connect(server.url);
  client.send({ t: 'hello', v: PROTOCOL_VERSION, token });
  const error = await client.nextOf('error');
  return { error, closed: await client.closed, client };
}

describe('handshake', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  test('POST /api/tokens mints a token for the user, valid for 30 days by default; it opens a connection as that user', async () => {
    const before = Date.now();
    const answer = await server.request('POST', '/api/tokens', { body: { user: 'alice' } });
    expect(answer.status).toBe(200);
    const minted = answer.body as { token: string; user: string; expiresAt: number };
    expect(minted).toEqual({ token: expect.stringMatching(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/), user: 'alice', expiresAt: expect.any(Number) });
    expect(minted.expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 30 * 24 * 3600 * 1000);
    expect(minted.expiresAt).toBeLessThanOrEqual(Date.now() + 30 * 24 * 3600 * 1000);
    const { client, welcome } = await connectAndGreet(server.url, { token: minted.token });
    expect(welcome).toMatchObject({ user: 'alice', tokenExpiresAt: minted.expiresAt });
    await client.close();
  });

  test('ttlSeconds sets the lifetime', async () => {
    const answer = await server.request('POST', '/api/tokens', { body: { user: 'bob', ttlSeconds: 120 } });
    const { expiresAt } = answer.body as { expiresAt: number };
    expect(expiresAt - Date.now()).toBeGreaterThan(118_000);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(120_000);
  });

  test.each<[string, () => Promise<string>, RegExp]>([
    ['a forged token (signed with another secret)', () => signTestToken({ sub: 'dev', secret: 'someone-elses-secret-0123456789abcdef' }), /signature/],
    ['a forged expired token (the signature is checked first)', () => signTestToken({ sub: 'dev', secret: 'someone-elses-secret-0123456789abcdef', expiresAt: 1000 }), /signature/],
    ['garbage', async () => 'not.a.jwt', /not a valid access token/],
    ['the old fixed dev token', async () => 'dev-token', /not a valid access token/],
    ['an unsigned token (alg none)', async () => `${b64({ alg: 'none' })}.${b64({ sub: 'dev', iss: 'switchboard', aud: 'switchboard', exp: 4e9, iat: 1 })}.`, /refused/],
    ['a token for another audience', () => signTestToken({ sub: 'dev', audience: 'another-service' }), /aud/],
    ['a token from another issuer', () => signTestToken({ sub: 'dev', issuer: 'someone-else' }), /iss/],
    ['a token naming no valid user', () => signTestToken({ sub: 'no spaces allowed' }), /no valid user/],
    ['a token issued a day in the future', () => signTestToken({ sub: 'dev', issuedAt: Math.floor(Date.now() / 1000) + 24 * 3600 }), /issued in the future/],
  ])('%s is refused with unauthorized and close 4010, counted', async (_name, makeToken, message) => {
    const before = await refused(server, 'unauthorized');
    const { error, closed } = await refusedHello(server, await makeToken());
    expect(error.code).toBe('unauthorized');
    expect(error.message).toMatch(message);
    expect(closed).toEqual({ code: CloseCode.unauthorized, reason: 'access token refused' });
    expect(await refused(server, 'unauthorized')).toBe(before + 1);
  });

  test('an expired token is refused with unauthorized saying so, and close 4011, counted as expired', async () => {
    const before = await refused(server, 'expired');
    const now = Math.floor(Date.now() / 1000);
    const { error, closed } = await refusedHello(server, await signTestToken({ sub: 'dev', issuedAt: now - 7200, expiresAt: now - 60 }));
    expect(error).toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/expired/) });
    expect(closed).toEqual({ code: CloseCode.tokenExpired, reason: 'access token expired' });
    expect(await refused(server, 'expired')).toBe(before + 1);
  });
});

describe('topic ACL', () => {
  let server: TestServer;
  let alice: TestClient;
  beforeAll(async () => {
    server = await startTestServer();
    ({ client: alice } = await connectAndGreet(server.url, { token: await server.mintToken('alice') }));
  });
  afterAll(async () => {
    await alice.close();
    await server.close();
  });

  test("another user's feed is forbidden, counted, and nothing of it arrives", async () => {
    const before = await server.metric('switchboard_subscriptions_refused_total', { reason: 'forbidden' });
    const answer = await alice.subscribe('feed:bob', { last: 10 });
    expect(answer).toMatchObject({ t: 'error', code: 'forbidden', topic: 'feed:bob', message: expect.stringContaining('feed:alice') });
    expect(await server.metric('switchboard_subscriptions_refused_total', { reason: 'forbidden' })).toBe(before + 1);
    await server.publishNotification('bob', { title: 'for bob only', body: 'secret' });
    // The connection is fine and subscribed to its own feed; bob's event, published first, never comes.
    expect(await alice.subscribe('feed:alice')).toMatchObject({ t: 'subscribed', recovery: 'fresh' });
    const own = await server.publishNotification('alice', { title: 'for alice', body: '' });
    await alice.untilEvent('feed:alice', own.seq);
    expect(alice.events('feed:bob')).toEqual([]);
  });

  test('news and prices are open to every user', async () => {
    expect(await alice.subscribe('news')).toMatchObject({ t: 'subscribed', mode: 'stream' });
    expect(await alice.subscribe('prices:AAPL')).toMatchObject({ t: 'subscribed', mode: 'state' });
    expect(await alice.subscribe('prices:*')).toMatchObject({ t: 'subscribed', mode: 'state' });
  });

  test('unknown topics are refused and counted', async () => {
    const before = await server.metric('switchboard_subscriptions_refused_total', { reason: 'unknown-topic' });
    expect(await alice.subscribe('weather:paris')).toMatchObject({ t: 'error', code: 'unknown-topic' });
    expect(await server.metric('switchboard_subscriptions_refused_total', { reason: 'unknown-topic' })).toBe(before + 1);
  });
});

describe('refresh and expiry', () => {
  let server: TestServer;
  /** The server's wall clock: real time plus what the test added. */
  let offsetMs = 0;
  beforeAll(async () => {
    server = await startTestServer({ heartbeatMs: 100, now: () => Date.now() + offsetMs });
  });
  afterAll(() => server.close());

  test('refresh with a token of the same user answers refreshed and the connection carries on', async () => {
    const { client, welcome } = await connectAndGreet(server.url, { token: await server.mintToken('carol', 60) });
    const later = await server.request('POST', '/api/tokens', { body: { user: 'carol', ttlSeconds: 3600 } });
    const { token, expiresAt } = later.body as { token: string; expiresAt: number };
    client.send({ t: 'refresh', token });
    expect(await client.nextOf('refreshed')).toEqual({ t: 'refreshed', user: 'carol', tokenExpiresAt: expiresAt });
    expect(expiresAt).toBeGreaterThan(welcome.tokenExpiresAt!);
    expect(await client.subscribe('feed:carol')).toMatchObject({ t: 'subscribed' });
    await client.close();
  });

  test('refresh with a token of another user closes with 4010, counted as wrong-user', async () => {
    const before = await refused(server, 'wrong-user');
    const { client } = await connectAndGreet(server.url, { token: await server.mintToken('carol') });
    client.send({ t: 'refresh', token: await server.mintToken('mallory') });
    expect(await client.nextOf('error')).toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/same user \(carol\)/) });
    expect(await client.closed).toEqual({ code: CloseCode.unauthorized, reason: 'access token refused' });
    expect(await refused(server, 'wrong-user')).toBe(before + 1);
  });

  test('refresh with a forged token closes with 4010', async () => {
    const { client } = await connectAndGreet(server.url, { token: await server.mintToken('carol') });
    client.send({ t: 'refresh', token: await signTestToken({ sub: 'carol', secret: 'someone-elses-secret-0123456789abcdef' }) });
    expect(await client.nextOf('error')).toMatchObject({ code: 'unauthorized' });
    expect((await client.closed).code).toBe(CloseCode.unauthorized);
  });

  test('refresh with an expired token closes with 4011 (expired, not refused), counted as expired', async () => {
    const before = await refused(server, 'expired');
    const { client } = await connectAndGreet(server.url, { token: await server.mintToken('carol') });
    const now = Math.floor(Date.now() / 1000);
    client.send({ t: 'refresh', token: await signTestToken({ sub: 'carol', issuedAt: now - 7200, expiresAt: now - 3600 }) });
    expect(await client.nextOf('error')).toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/expired/) });
    expect(await client.closed).toEqual({ code: CloseCode.tokenExpired, reason: 'access token expired' });
    expect(await refused(server, 'expired')).toBe(before + 1);
  });

  test('a token expiring while connected closes the connection with 4011, counted; a refresh had moved the deadline', async () => {
    const before = await refused(server, 'expired');
    const { client, welcome } = await connectAndGreet(server.url, { token: await server.mintToken('dave', 60) });
    const first = welcome.tokenExpiresAt!;
    client.send({ t: 'refresh', token: await server.mintToken('dave', 600) });
    const { tokenExpiresAt: second } = await client.nextOf('refreshed');

    // Past the first token's expiry: the refreshed one is in force, so the server keeps pinging.
    offsetMs += first - (Date.now() + offsetMs) + 1_000;
    const mark = client.received.length;
    await client.until(() => client.received.slice(mark).filter((f) => f.t === 'ping').length >= 2);
    expect(client.ws.readyState).toBe(client.ws.OPEN);

    offsetMs += second! - (Date.now() + offsetMs);
    expect(await client.nextOf('error')).toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/expired/) });
    expect(await client.closed).toEqual({ code: CloseCode.tokenExpired, reason: 'access token expired' });
    expect(await refused(server, 'expired')).toBe(before + 1);
  });
});

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
