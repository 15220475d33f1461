/**
 * The server's small pure parts: handshake decision, token and admin checks, Origin policy, price
 * book, simulator (seeded), environment parsing and option validation.
 */
import { describe, expect, test, vi } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import type { PriceTick } from '../../lib/wire/prices';
import { PROTOCOL_VERSION } from '../../lib/wire/protocol';
import { createDevTokenVerifier, isAdminRequest, withDevToken, type TokenVerifier } from '../../server/auth/checks';
import { readEnv } from '../../server/env';
import { decideHandshake } from '../../server/clients/handshake';
import { resolveOptions } from '../../server/options';
import { createOriginPolicy } from '../../server/http/origin';
import { createPriceBook } from '../../server/prices/book';
import { createSimulator, DEFAULT_START_PRICES, roundPrice } from '../../server/prices/simulator';
import { seededRandom } from '../support/random';

describe('decideHandshake', () => {
  const verify: TokenVerifier = async (token) => {
    if (token === 'good') return { ok: true, user: 'alice', expiresAt: 5_000 };
    if (token === 'old') return { ok: false, expired: true, reason: 'Access token expired: ask for a new one' };
    return { ok: false, reason: 'Access token refused' };
  };

  test('hello with the current version and a good token is its user, with the expiry', async () => {
    expect(await decideHandshake({ t: 'hello', v: PROTOCOL_VERSION, token: 'good' }, verify)).toEqual({ ok: true, user: 'alice', expiresAt: 5_000 });
  });

  test('the dev token verifier (tests only) knows user dev and no expiry', async () => {
    const dev = createDevTokenVerifier('fixed-dev-token');
    expect(await decideHandshake({ t: 'hello', v: PROTOCOL_VERSION, token: 'fixed-dev-token' }, dev)).toEqual({ ok: true, user: 'dev' });
  });

  test.each([
    ['another version', { t: 'hello', v: 2, token: 'good' } as const, 'unsupported-version', CloseCode.unsupportedVersion, 'version'],
    ['a wrong token', { t: 'hello', v: PROTOCOL_VERSION, token: 'nope' } as const, 'unauthorized', CloseCode.unauthorized, 'unauthorized'],
    ['an expired token', { t: 'hello', v: PROTOCOL_VERSION, token: 'old' } as const, 'unauthorized', CloseCode.tokenExpired, 'expired'],
    ['another frame first', { t: 'ping', at: 1 } as const, 'not-ready', CloseCode.badFrame, 'not-ready'],
  ])('%s is refused', async (_name, frame, code, closeCode, metric) => {
    expect(await decideHandshake(frame, verify)).toMatchObject({ ok: false, error: { t: 'error', code }, closeCode, metric });
  });

  test('the version is checked before the token, so an old client learns it must upgrade', async () => {
    expect(await decideHandshake({ t: 'hello', v: 0, token: 'nope' }, verify)).toMatchObject({ ok: false, metric: 'version' });
  });
});

describe('withDevToken', () => {
  const jwt: TokenVerifier = (token) => (token === 'jwt' ? { ok: true, user: 'alice' } : { ok: false, reason: 'no' });

  test('without a dev token only the primary verifier decides', async () => {
    expect(withDevToken(jwt, undefined)).toBe(jwt);
  });

  test('with one, the dev token is user dev and everything else goes to the primary', async () => {
    const both = withDevToken(jwt, 'fixed-dev-token');
    expect(await both('fixed-dev-token')).toEqual({ ok: true, user: 'dev' });
    expect(await both('jwt')).toEqual({ ok: true, user: 'alice' });
    expect(await both('other')).toMatchObject({ ok: false });
  });
});

describe('admin bearer check', () => {
  test.each([
    ['Bearer secret-admin', true],
    ['bearer secret-admin', true],
    ['Bearer secret-admin ', true],
    ['Bearer secret', false],
    ['Bearer secret-admin-plus', false],
    ['Basic secret-admin', false],
    ['secret-admin', false],
    ['', false],
  ])('%j → %s', (header, expected) => {
    expect(isAdminRequest(header, 'secret-admin')).toBe(expected);
  });

  test('no header is refused', () => {
    expect(isAdminRequest(undefined, 'secret-admin')).toBe(false);
  });
});

describe('origin policy', () => {
  const policy = createOriginPolicy({ allowedOrigins: ['https://App.Example.com/'], allowExtensionOrigins: true });
  policy.addOwnOrigins('127.0.0.1', 8787);

  test.each([
    [undefined, true],
    ['https://app.example.com', true],
    ['http://127.0.0.1:8787', true],
    ['http://localhost:8787', true],
    ['http://localhost:8788', false],
    ['chrome-extension://abcdefghijklmnopabcdefghijklmnop', true],
    ['moz-extension://0b9d3f2e-6a8c-4b5e-9f1a-2c3d4e5f6a7b', true],
    ['https://evil.example', false],
    ['null', false],
    ['chrome-extension://evil.example.com', false],
  ])('%s → %s', (origin, expected) => {
    expect(policy.check(origin).ok).toBe(expected);
  });

  test('extension origins need listing when not allowed wholesale', () => {
    const production = createOriginPolicy({ allowedOrigins: ['chrome-extension://listed'], allowExtensionOrigins: false });
    expect(production.check('chrome-extension://listed').ok).toBe(true);
    expect(production.check('chrome-extension://other')).toEqual({ ok: false, reason: 'Origin "chrome-extension://other" is not allowed' });
  });
});

describe('price book', () => {
  test('prev is the previous price, or the price itself the first time; the listener sees every tick', () => {
    const seen: PriceTick[] = [];
    const book = createPriceBook({ now: () => 42, onTick: (t) => seen.push(t) });
    expect(book.publish('AAPL', 10)).toEqual({ ok: true, tick: { symbol: 'AAPL', price: 10, prev: 10, at: 42 } });
    expect(book.publish('AAPL', 11)).toEqual({ ok: true, tick: { symbol: 'AAPL', price: 11, prev: 10, at: 42 } });
    expect(seen.map((t) => t.price)).toEqual([10, 11]);
    expect(book.get('AAPL')?.price).toBe(11);
    expect(book.size).toBe(1);
  });

  test.each<[unknown, unknown, RegExp]>([
    ['aapl', 1, /Invalid symbol "aapl"/],
    [42, 1, /Invalid symbol 42/],
    [{}, 1, /Invalid symbol of type object/],
    ['AAPL', Number.NaN, /Invalid price NaN/],
    ['AAPL', Number.POSITIVE_INFINITY, /Invalid price Infinity/],
    ['AAPL', 10n, /Invalid price of type bigint/],
  ])('%s at %s is refused and not recorded', (symbol, price, error) => {
    const onTick = vi.fn();
    const book = createPriceBook({ now: () => 0, onTick });
    const result = book.publish(symbol, price);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.error).toMatch(error);
    expect(onTick).not.toHaveBeenCalled();
  });
});

describe('simulator', () => {
  test('a start moves on from the prices the server has (a handover), publishing only symbols without one', () => {
    const published: Array<[string, number]> = [];
    const sim = createSimulator({
      ticksPerSecond: 1,
      symbols: ['AAPL', 'KO'],
      random: seededRandom(7),
      latest: (symbol) => (symbol === 'AAPL' ? 300 : undefined),
      publish: (s, p) => published.push([s, p]),
    });
    sim.start();
    sim.stop();
    expect(published).toEqual([['KO', DEFAULT_START_PRICES.KO]]);
    for (let i = 0; i < 20; i++) sim.step();
    const aapl = published.filter(([symbol]) => symbol === 'AAPL').map(([, price]) => price);
    expect(aapl.length).toBeGreaterThan(0);
    // A step moves 0.2% or so per tick: twenty steps from 300 stay far from the default start.
    for (const price of aapl) expect(Math.abs(price - 300)).toBeLessThan(30);
  });

  test('start publishes every default symbol at its starting price', () => {
    const published: Array<[string, number]> = [];
    const sim = createSimulator({ ticksPerSecond: 1, publish: (s, p) => published.push([s, p]) });
    sim.start();
    sim.stop();
    expect(published).toEqual(Object.entries(DEFAULT_START_PRICES));
    expect(published.length).toBeGreaterThanOrEqual(20);
  });

  test('steps are a small random walk that stays positive and repeats with the same seed', () => {
    const run = (seed: number) => {
      const published: Array<[string, number]> = [];
      const sim = createSimulator({ ticksPerSecond: 1, symbols: ['AAPL', 'BTC-USD'], random: seededRandom(seed), publish: (s, p) => published.push([s, p]) });
      for (let i = 0; i < 500; i++) sim.step();
      return published;
    };
    const a = run(7);
    expect(run(7)).toEqual(a);
    expect(run(8)).not.toEqual(a);
    for (const [symbol, price] of a) {
      expect(price).toBeGreaterThan(0);
      expect(Math.abs(Math.log(price / DEFAULT_START_PRICES[symbol]!))).toBeLessThan(0.5);
    }
  });

  test('the timer produces ticksPerSecond ticks per second, also above the timer resolution', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      for (const rate of [5, 200]) {
        let ticks = 0;
        const sim = createSimulator({ ticksPerSecond: rate, symbols: ['AAPL'], publish: () => void ticks++ });
        sim.start();
        ticks = 0;
        vi.advanceTimersByTime(1000);
        sim.stop();
        expect(ticks).toBe(rate);
        vi.advanceTimersByTime(1000);
        expect(ticks).toBe(rate);
      }
    } finally {
      vi.useRealTimers();
    }
  });

  test('roundPrice keeps cents above $1 and four decimals below, never reaching 0', () => {
    expect(roundPrice(228.5149)).toBe(228.51);
    expect(roundPrice(0.123456)).toBe(0.1235);
    expect(roundPrice(0.00001)).toBe(0.0001);
  });
});

describe('environment', () => {
  test('defaults: port 8787 on 127.0.0.1, simulator at 5 ticks/s, a generated admin token, SQLite in ./data, 30-day tokens, 10000 events / 30 days', () => {
    const config = readEnv({});
    expect(config.ok).toBe(true);
    if (!config.ok) return;
    expect(config.value.options).toMatchObject({
      port: 8787,
      host: '127.0.0.1',
      simulator: { ticksPerSecond: 5 },
      allowedOrigins: [],
      allowExtensionOrigins: true,
      store: 'sqlite',
      dataDir: './data',
      tokenTtlSeconds: 30 * 24 * 3600,
      retention: { maxEvents: 10_000, maxAgeMs: 30 * 24 * 3600 * 1000 },
    });
    expect(config.value.options).not.toHaveProperty('tokenSecret');
    expect(config.value.options).not.toHaveProperty('devToken');
    expect(config.value.options.adminToken.length).toBeGreaterThanOrEqual(16);
    expect(config.value.generatedAdminToken).toBe(true);
    expect(config.value.production).toBe(false);
    expect(config.value.dataDir).toBe('./data');
  });

  test('every variable is read', () => {
    const config = readEnv({
      PORT: '9000',
      HOST: '0.0.0.0',
      DATA_DIR: '/tmp/sb',
      ADMIN_TOKEN: 'admin-token-123',
      DEV_TOKEN: 'no-longer-read',
      STORE: 'memory',
      TOKEN_SECRET: 'a-secret-of-at-least-thirty-two-characters',
      TOKEN_TTL_SECONDS: '3600',
      RETENTION_EVENTS: '500',
      RETENTION_DAYS: '0.5',
      SIMULATOR: 'off',
      ALLOWED_ORIGINS: 'https://a.example, https://b.example ,',
      NODE_ENV: 'production',
      MAX_BACKLOG_BYTES: '8388608',
      CLIENT_MESSAGE_IDS_PER_USER: '200',
      CLIENT_MESSAGE_RETENTION_DAYS: '2',
      FLUSH_MS: '20',
      SESSION_IDLE_MS: '90000',
      STREAM_HEARTBEAT_MS: '10000',
      POLL_TIMEOUT_MS: '20000',
      MAX_POST_BYTES: '65536',
    });
    expect(config).toMatchObject({
      ok: true,
      value: {
        options: {
          port: 9000,
          host: '0.0.0.0',
          adminToken: 'admin-token-123',
          store: 'memory',
          dataDir: '/tmp/sb',
          tokenSecret: 'a-secret-of-at-least-thirty-two-characters',
          tokenTtlSeconds: 3600,
          retention: { maxEvents: 500, maxAgeMs: 12 * 3600 * 1000 },
          simulator: 'off',
          allowedOrigins: ['https://a.example', 'https://b.example'],
          allowExtensionOrigins: false,
          maxBacklogBytes: 8 * 1024 * 1024,
          maxClientMessageIdsPerUser: 200,
          clientMessageRetentionMs: 2 * 24 * 3600 * 1000,
          flushMs: 20,
          sessionIdleMs: 90_000,
          streamHeartbeatMs: 10_000,
          pollTimeoutMs: 20_000,
          maxPostBytes: 65_536,
        },
        dataDir: '/tmp/sb',
        generatedAdminToken: false,
        production: true,
      },
    });
    expect(config.ok && config.value.options).not.toHaveProperty('devToken');
  });

  test.each([
    [{ PORT: 'http' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ SIMULATOR_RATE: '0' }, /SIMULATOR_RATE/],
    [{ ADMIN_TOKEN: 'short' }, /ADMIN_TOKEN/],
    [{ TOKEN_SECRET: 'short' }, /TOKEN_SECRET must be at least 32/],
    [{ TOKEN_TTL_SECONDS: '0' }, /TOKEN_TTL_SECONDS/],
    [{ TOKEN_TTL_SECONDS: '1.5' }, /TOKEN_TTL_SECONDS/],
    [{ RETENTION_EVENTS: '-1' }, /RETENTION_EVENTS/],
    [{ RETENTION_EVENTS: '2.5' }, /RETENTION_EVENTS/],
    [{ RETENTION_DAYS: 'forever' }, /RETENTION_DAYS/],
    [{ MAX_BACKLOG_BYTES: '16MB' }, /MAX_BACKLOG_BYTES/],
    [{ CLIENT_MESSAGE_IDS_PER_USER: '0' }, /CLIENT_MESSAGE_IDS_PER_USER/],
    [{ CLIENT_MESSAGE_RETENTION_DAYS: '-1' }, /CLIENT_MESSAGE_RETENTION_DAYS/],
    [{ FLUSH_MS: '0' }, /FLUSH_MS/],
    [{ FLUSH_MS: '20000' }, /FLUSH_MS/],
    [{ FLUSH_MS: '2.5' }, /FLUSH_MS/],
    [{ SESSION_IDLE_MS: '10' }, /SESSION_IDLE_MS must be a whole number from 50 to 3600000, got "10"/],
    [{ STREAM_HEARTBEAT_MS: '30000' }, /STREAM_HEARTBEAT_MS must be a whole number from 10 to 20000/],
    [{ POLL_TIMEOUT_MS: '25s' }, /POLL_TIMEOUT_MS/],
    [{ MAX_POST_BYTES: '-1' }, /MAX_POST_BYTES/],
    [{ REDIS_URL: 'localhost:6379', TOKEN_SECRET: 'x'.repeat(40) }, /REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/],
    [{ REDIS_URL: 'http://127.0.0.1:6379', TOKEN_SECRET: 'x'.repeat(40) }, /REDIS_URL must be/],
    [{ REDIS_URL: 'redis://127.0.0.1:6379' }, /REDIS_URL needs TOKEN_SECRET/],
    [{ REDIS_URL: 'redis://127.0.0.1:6379', TOKEN_SECRET: 'x'.repeat(40), STORE: 'sqlite' }, /unset STORE/],
    [{ STORE: 'redis' }, /STORE=redis needs REDIS_URL/],
    [{ STORE: 'postgres' }, /STORE must be sqlite or memory \(or redis, with REDIS_URL\)/],
  ])('%j is refused with a reason', (env, message) => {
    const config = readEnv(env);
    expect(config.ok).toBe(false);
    expect(config.ok ? '' : config.error.message).toMatch(message);
  });
});

test('REDIS_URL with TOKEN_SECRET makes the node one of several on that Redis', () => {
  const config = readEnv({ REDIS_URL: ' redis://127.0.0.1:6390 ', TOKEN_SECRET: 'x'.repeat(40) });
  expect(config.ok && config.value.options.redisUrl).toBe('redis://127.0.0.1:6390');
  expect(config.ok && config.value.options.store).toBe('redis');
  const alone = readEnv({});
  expect(alone.ok && 'redisUrl' in alone.value.options).toBe(false);
});

describe('options', () => {
  test.each([
    [{ heartbeatMs: 10 }, /heartbeatMs/],
    [{ heartbeatMs: 120_000 }, /heartbeatMs/],
    [{ maxFrameBytes: 100 }, /maxFrameBytes/],
    [{ port: -1 }, /port/],
    [{ simulator: { ticksPerSecond: 0 } }, /ticksPerSecond/],
    [{ tokenSecret: 'too-short' }, /tokenSecret/],
    [{ tokenTtlSeconds: 0 }, /tokenTtlSeconds/],
    [{ devToken: '' }, /devToken/],
    [{ retention: { maxEvents: 0 } }, /maxEvents/],
    [{ retention: { maxAgeMs: -1 } }, /maxAgeMs/],
    [{ maxBacklogBytes: 1024 }, /maxBacklogBytes/],
    [{ maxClientMessageIdsPerUser: 0 }, /maxClientMessageIdsPerUser/],
    [{ clientMessageRetentionMs: 1000 }, /clientMessageRetentionMs/],
    [{ maxBacklogBytes: 2 * 1024 * 1024, maxFrameBytes: 4 * 1024 * 1024 }, /maxBacklogBytes/],
  ])('%j is refused', (input, message) => {
    expect(() => resolveOptions(input)).toThrow(message);
  });

  test('defaults: SQLite in ./data, no dev token, retention 10000 events and 30 days', () => {
    const options = resolveOptions({});
    expect(options).toMatchObject({ store: 'sqlite', dataDir: './data', retention: { maxEvents: 10_000, maxAgeMs: 30 * 24 * 3600 * 1000 } });
    expect(options.devToken).toBeUndefined();
    expect(options.verifyToken).toBeUndefined();
  });
});
