/**
 * The admin API for stream topics and tokens: publishing to a user's feed and to `news` answers
 * `{topic, epoch, seq}` with seq growing by one; the published data arrives as sent (level defaults
 * to info); every malformed body is a 400 naming the problem and appends nothing; a missing admin
 * token is a 401; resetting a topic starts a new epoch; appends are counted.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/server';
import { connectAndGreet } from '../support/ws-client';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const head = (topic: string) => server.server.eventLog.head(topic);
const errorOf = (body: unknown) => (body as { error: string }).error;
/** What the alert engine attaches to a fired alert's notification: well formed, so only its origin is wrong. */
const forgedAlert = {
  alertId: '6f1c1f0e-4a8b-4c1e-9a57-3c1d2b8e9f10',
  rule: { symbol: 'AAPL', condition: 'above', price: 210, repeat: 'once' },
  price: 211,
  firedAt: 1_700_000_000_000,
};

describe('POST /api/notifications', () => {
  test('appends to feed:<user> and answers topic, epoch and seq once durable; seq grows by one', async () => {
    const first = await server.request('POST', '/api/notifications', { body: { user: 'alice', title: 'Hi', body: 'one' } });
    expect(first.status).toBe(200);
    const { epoch } = await head('feed:alice');
    expect(first.body).toEqual({ topic: 'feed:alice', epoch, seq: 1 });
    const second = await server.request('POST', '/api/notifications', { body: { user: 'alice', title: 'Hi', body: 'two', level: 'high', url: 'https://example.com/x' } });
    expect(second.body).toEqual({ topic: 'feed:alice', epoch, seq: 2 });
    const [a, b] = await server.server.eventLog.newest('feed:alice', 2);
    expect(a?.data).toEqual({ title: 'Hi', body: 'one', level: 'info' });
    expect(b?.data).toEqual({ title: 'Hi', body: 'two', level: 'high', url: 'https://example.com/x' });
  });

  test('the event reaches the user subscribed to the feed with the data as published', async () => {
    const token = await server.mintToken('erin');
    const { client } = await connectAndGreet(server.url, { token });
    await client.subscribe('feed:erin');
    const published = await server.publishNotification('erin', { title: '<img src=x onerror=alert(1)>', body: 'stays text', level: 'warning' });
    const event = await client.untilEvent('feed:erin', published.seq);
    expect(event.data).toEqual({ title: '<img src=x onerror=alert(1)>', body: 'stays text', level: 'warning' });
    await client.close();
  });

  test.each<[string, unknown, RegExp]>([
    ['a missing user', { title: 't', body: 'b' }, /Invalid user \(missing\)/],
    ['a user with spaces', { user: 'no spaces', title: 't', body: 'b' }, /Invalid user "no spaces"/],
    ['a user as a number', { user: 7, title: 't', body: 'b' }, /Invalid user 7/],
    ['a missing title', { user: 'alice', body: 'b' }, /Invalid notification: title/],
    ['an empty title', { user: 'alice', title: '', body: 'b' }, /Invalid notification: title/],
    ['a title over 200 characters', { user: 'alice', title: 't'.repeat(201), body: 'b' }, /Invalid notification: title/],
    ['a body that is not text', { user: 'alice', title: 't', body: { html: '<b>' } }, /Invalid notification: body/],
    ['an unknown level', { user: 'alice', title: 't', body: 'b', level: 'urgent' }, /Invalid notification: level/],
    ['a javascript: url', { user: 'alice', title: 't', body: 'b', url: 'javascript:alert(1)' }, /Invalid notification: url.*http/],
    ['a relative url', { user: 'alice', title: 't', body: 'b', url: '/inbox' }, /Invalid notification: url/],
    ['bad JSON', '{"user": "alice", title: 1', /not valid JSON/],
    ['a JSON array', ['alice', 't', 'b'], /JSON object \{user, title, body, level\?, url\?\}/],
    ['a body over 16 KiB', { user: 'alice', title: 't', body: 'b'.repeat(17 * 1024) }, /exceeds the limit/],
    // Only the alert engine may publish `alert`: with it, an admin could forge "price alert" overlays.
    ['the engine-only alert field', { user: 'alice', title: 't', body: 'b', alert: forgedAlert }, /field alert is set only by the alert engine/],
    ['an alert field of null', { user: 'alice', title: 't', body: 'b', alert: null }, /field alert is set only by the alert engine/],
  ])('%s gets 400 naming the problem and appends nothing', async (_name, body, error) => {
    const before = await head('feed:alice');
    const answer = await server.request('POST', '/api/notifications', { body });
    expect(answer.status).toBe(400);
    expect(errorOf(answer.body)).toMatch(error);
    expect(await head('feed:alice')).toEqual(before);
  });
});

describe('POST /api/news', () => {
  test('appends to news', async () => {
    const answer = await server.request('POST', '/api/news', { body: { title: 'Markets open', body: '' } });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ topic: 'news', epoch: (await head('news')).epoch, seq: 1 });
  });

  test.each<[string, unknown, RegExp]>([
    ['a malformed notification', { title: 42, body: 'b' }, /Invalid notification: title/],
    ['the engine-only alert field', { title: 't', body: 'b', alert: forgedAlert }, /field alert is set only by the alert engine/],
  ])('%s gets 400 and appends nothing', async (_name, body, error) => {
    const before = await head('news');
    const answer = await server.request('POST', '/api/news', { body });
    expect(answer.status).toBe(400);
    expect(errorOf(answer.body)).toMatch(error);
    expect(await head('news')).toEqual(before);
  });
});

describe('POST /api/tokens', () => {
  test.each<[string, unknown, RegExp]>([
    ['a missing user', {}, /Invalid user \(missing\)/],
    ['a user name over 64 characters', { user: 'u'.repeat(65) }, /Invalid user/],
    ['a user with a slash', { user: 'a/b' }, /Invalid user "a\/b"/],
    ['a zero lifetime', { user: 'alice', ttlSeconds: 0 }, /Invalid ttlSeconds 0/],
    ['a fractional lifetime', { user: 'alice', ttlSeconds: 1.5 }, /Invalid ttlSeconds 1.5/],
    ['a lifetime as text', { user: 'alice', ttlSeconds: '60' }, /Invalid ttlSeconds "60"/],
    ['a lifetime over a year', { user: 'alice', ttlSeconds: 400 * 24 * 3600 }, /Invalid ttlSeconds/],
  ])('%s gets 400 naming the problem', async (_name, body, error) => {
    const answer = await server.request('POST', '/api/tokens', { body });
    expect(answer.status).toBe(400);
    expect(errorOf(answer.body)).toMatch(error);
  });
});

describe('POST /api/topics/reset', () => {
  test('starts a new epoch at seq 0 and answers it', async () => {
    await server.publishNotification('frank', { title: 't', body: 'b' });
    const before = await head('feed:frank');
    const answer = await server.request('POST', '/api/topics/reset', { body: { topic: 'feed:frank' } });
    expect(answer.status).toBe(200);
    const after = await head('feed:frank');
    expect(answer.body).toEqual({ topic: 'feed:frank', epoch: after.epoch });
    expect(after.epoch).not.toBe(before.epoch);
    expect(after).toMatchObject({ seq: 0, firstSeq: 1 });
  });

  test.each<[string, unknown]>([
    ['a price topic', { topic: 'prices:AAPL' }],
    ['an unknown topic', { topic: 'weather:paris' }],
    ['a missing topic', {}],
  ])('%s gets 400', async (_name, body) => {
    const answer = await server.request('POST', '/api/topics/reset', { body });
    expect(answer.status).toBe(400);
    expect(errorOf(answer.body)).toMatch(/only stream topics/);
  });
});

describe('admin auth and methods', () => {
  test.each(['/api/tokens', '/api/notifications', '/api/news', '/api/topics/reset'])('%s without the admin token gets 401 and changes nothing', async (path) => {
    const before = await head('feed:alice');
    const answer = await server.request('POST', path, { token: null, body: { user: 'alice', title: 't', body: 'b', topic: 'feed:alice' } });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await head('feed:alice')).toEqual(before);
  });

  test('an access token is not an admin token', async () => {
    const answer = await server.request('POST', '/api/tokens', { token: await server.mintToken('alice'), body: { user: 'root' } });
    expect(answer.status).toBe(401);
  });

  test.each(['/api/tokens', '/api/notifications', '/api/news', '/api/topics/reset'])('GET %s gets 405 with Allow: POST', async (path) => {
    const answer = await server.request('GET', path);
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toBe('POST');
  });
});

test('appends are counted by topic family', async () => {
  const feed = await server.metric('switchboard_events_appended_total', { kind: 'feed' });
  const news = await server.metric('switchboard_events_appended_total', { kind: 'news' });
  await server.publishNotification('gina', { title: 't', body: 'b' });
  await server.publishNews({ title: 't', body: 'b' });
  await server.publishNews({ title: 't', body: 'b' });
  expect(await server.metric('switchboard_events_appended_total', { kind: 'feed' })).toBe(feed + 1);
  expect(await server.metric('switchboard_events_appended_total', { kind: 'news' })).toBe(news + 2);
});
