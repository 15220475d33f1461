/**
 * The server's small pure parts: handshake decision, token and admin checks, Origin policy, price
 * book, simulator (seeded), environment parsing and option validation.
 */
import { describe, expect, test, vi } from 'vitest';
import { CloseCode } from '../../lib/close-codes';
import type { PriceTick } from '../../lib/prices';
import { PROTOCOL_VERSION } from '../../lib/protocol';
import { createDevTokenVerifier, isAdminRequest } from '../../server/auth';
import { readEnv } from '../../server/env';
import { decideHandshake } from '../../server/handshake';
import { resolveOptions } from '../../server/options';
import { createOriginPolicy } from '../../server/origin';
import { createPriceBook } from '../../server/price-book';
import { createSimulator, DEFAULT_START_PRICES, roundPrice } from '../../server/simulator';

describe('decideHandshake', () => {
  const verify = createDevTokenVerifier('dev-token');

  test('hello with the current version and the dev token is user dev', () => {
    expect(decideHandshake({ t: 'hello', v: PROTOCOL_VERSION, token: 'dev-token' }, verify)).toEqual({ ok: true, user: 'dev' });
  });

  test.each([
    ['another version', { t: 'hello', v: 2, token: 'dev-token' } as const, 'unsupported-version', CloseCode.unsupportedVersion, 'version'],
    ['a wrong token', { t: 'hello', v: PROTOCOL_VERSION, token: 'nope' } as const, 'unauthorized', CloseCode.unauthorized, 'unauthorized'],
    ['another frame first', { t: 'ping', at: 1 } as const, 'not-ready', CloseCode.badFrame, 'not-ready'],
  ])('%s is refused', (_name, frame, code, closeCode, metric) => {
    expect(decideHandshake(frame, verify)).toMatchObject({ ok: false, error: { t: 'error', code }, closeCode, metric });
  });

  test('the version is checked before the token, so an old client learns it must upgrade', () => {
    expect(decideHandshake({ t: 'hello', v: 0, token: 'nope' }, verify)).toMatchObject({ ok: false, metric: 'version' });
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

/** A small deterministic generator (mulberry32) so simulator runs repeat exactly. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('simulator', () => {
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
      const sim = createSimulator({ ticksPerSecond: 1, symbols: ['AAPL', 'BTC-USD'], random: seeded(seed), publish: (s, p) => published.push([s, p]) });
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
  test('defaults: port 8787 on 127.0.0.1, simulator at 5 ticks/s, a generated admin token, ./data', () => {
    const config = readEnv({});
    expect(config.ok).toBe(true);
    if (!config.ok) return;
    expect(config.value.options).toMatchObject({ port: 8787, host: '127.0.0.1', simulator: { ticksPerSecond: 5 }, allowedOrigins: [], allowExtensionOrigins: true });
    expect(config.value.options.adminToken.length).toBeGreaterThanOrEqual(16);
    expect(config.value.generatedAdminToken).toBe(true);
    expect(config.value.dataDir).toBe('./data');
  });

  test('every variable is read', () => {
    const config = readEnv({
      PORT: '9000',
      HOST: '0.0.0.0',
      DATA_DIR: '/tmp/sb',
      ADMIN_TOKEN: 'admin-token-123',
      DEV_TOKEN: 'other-dev',
      SIMULATOR: 'off',
      ALLOWED_ORIGINS: 'https://a.example, https://b.example ,',
      NODE_ENV: 'production',
    });
    expect(config).toMatchObject({
      ok: true,
      value: {
        options: {
          port: 9000,
          host: '0.0.0.0',
          adminToken: 'admin-token-123',
          devToken: 'other-dev',
          simulator: 'off',
          allowedOrigins: ['https://a.example', 'https://b.example'],
          allowExtensionOrigins: false,
        },
        dataDir: '/tmp/sb',
        generatedAdminToken: false,
      },
    });
  });

  test.each([
    [{ PORT: 'http' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ SIMULATOR_RATE: '0' }, /SIMULATOR_RATE/],
    [{ ADMIN_TOKEN: 'short' }, /ADMIN_TOKEN/],
  ])('%j is refused with a reason', (env, message) => {
    const config = readEnv(env);
    expect(config.ok).toBe(false);
    expect(config.ok ? '' : config.error.message).toMatch(message);
  });
});

describe('options', () => {
  test.each([
    [{ heartbeatMs: 10 }, /heartbeatMs/],
    [{ heartbeatMs: 120_000 }, /heartbeatMs/],
    [{ maxFrameBytes: 100 }, /maxFrameBytes/],
    [{ port: -1 }, /port/],
    [{ simulator: { ticksPerSecond: 0 } }, /ticksPerSecond/],
  ])('%j is refused', (input, message) => {
    expect(() => resolveOptions(input)).toThrow(message);
  });
});
