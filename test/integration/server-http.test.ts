/**
 * The plain-HTTP routes: admin price API (auth and validation), metrics, health, and readable
 * 404 / 405 answers. The dashboard at `/` has its own file, dashboard-static.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../support/server';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

describe('POST /api/prices', () => {
  test('publishes a tick and answers it with its topic; prev is the previous price', async () => {
    const first = await server.request('POST', '/api/prices', { body: { symbol: 'BRK.B', price: 455.2 } });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ topic: 'prices:BRK.B', symbol: 'BRK.B', price: 455.2, prev: 455.2, at: expect.any(Number) });
    const second = await server.request('POST', '/api/prices', { body: { symbol: 'BRK.B', price: 456 } });
    expect(second.body).toMatchObject({ price: 456, prev: 455.2 });
    expect(server.server.latestPrice('BRK.B')).toMatchObject({ price: 456 });
  });

  test.each([
    ['no Authorization header', null],
    ['a wrong token', 'wrong-token'],
    ['a prefix of the token', 'test-admin'],
  ])('%s gets 401 with a readable error', async (_name, token) => {
    const answer = await server.request('POST', '/api/prices', { token, body: { symbol: 'AAPL', price: 1 } });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((answer.body as { error: string }).error).toMatch(/admin token/);
    expect(server.server.latestPrice('AAPL')).toBeUndefined();
  });

  test.each<[string, unknown, RegExp]>([
    ['a lower-case symbol', { symbol: 'aapl', price: 1 }, /Invalid symbol "aapl"/],
    ['a symbol too long', { symbol: 'ABCDEFGHIJKLM', price: 1 }, /Invalid symbol/],
    ['a missing symbol', { price: 1 }, /Invalid symbol \(missing\)/],
    ['a zero price', { symbol: 'AAPL', price: 0 }, /Invalid price 0/],
    ['a negative price', { symbol: 'AAPL', price: -3 }, /Invalid price -3/],
    ['a price as text', { symbol: 'AAPL', price: '12' }, /Invalid price "12"/],
    ['an absurd price', { symbol: 'AAPL', price: 1e13 }, /Invalid price/],
    ['bad JSON', '{"symbol": "AAPL", price: 1', /not valid JSON/],
    ['a JSON array', [1, 2], /JSON object/],
    ['a body over 16 KiB', { symbol: 'AAPL', price: 1, pad: 'x'.repeat(17 * 1024) }, /exceeds the limit of 16384/],
  ])('%s gets 400 naming the problem', async (_name, body, error) => {
    const answer = await server.request('POST', '/api/prices', { body });
    expect(answer.status).toBe(400);
    expect((answer.body as { error: string }).error).toMatch(error);
    expect(server.server.latestPrice('AAPL')).toBeUndefined();
  });
});

describe('other routes', () => {
  test('GET /metrics is Prometheus text without auth, with the connections gauge', async () => {
    const answer = await server.request('GET', '/metrics', { token: null });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(answer.text).toMatch(/^# TYPE switchboard_ws_connections gauge$/m);
    expect(answer.text).toMatch(/^switchboard_ws_connections 0$/m);
    for (const name of ['frames_received_total', 'frames_rejected_total', 'connections_refused_total', 'price_ticks_total', 'frames_sent_total']) {
      expect(answer.text).toContain(`# TYPE switchboard_${name} counter`);
    }
  });

  test('GET /healthz answers 200', async () => {
    expect((await server.request('GET', '/healthz', { token: null })).status).toBe(200);
  });

  test('an unknown route gets a JSON 404', async () => {
    const answer = await server.request('GET', '/api/nothing', { token: null });
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ error: 'Not found: GET /api/nothing' });
  });

  test('a wrong method gets 405 with Allow', async () => {
    const answer = await server.request('GET', '/api/prices');
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toBe('POST');
    expect((answer.body as { error: string }).error).toMatch(/GET not allowed/);
  });

  test('plain GET /ws says it speaks WebSocket only', async () => {
    expect((await server.request('GET', '/ws', { token: null })).status).toBe(426);
  });
});
