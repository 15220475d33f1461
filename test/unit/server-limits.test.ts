/**
 * The limits' pure parts on an injected clock: the token bucket (nothing at d−1, a token at d), the
 * sliding-window count, the per-address key, the frame limiter's answers and its close, the
 * connection caps' bookkeeping, and the options and environment that set them.
 */
import { describe, expect, test } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import type { ServerFrame } from '../../lib/wire/protocol';
import { readEnv } from '../../server/env';
import { addressKey } from '../../server/limits/address';
import { createConnectionCaps, type Ticket } from '../../server/limits/connection-caps';
import { parseRate } from '../../server/limits/env';
import type { LimitMetrics } from '../../server/limits/metrics';
import { LIMIT_DEFAULTS, resolveLimits, type Limits } from '../../server/limits/options';
import { createTokenBucket, createWindowCount } from '../../server/limits/token-bucket';
import { resolveOptions } from '../../server/options';

const noMetrics: LimitMetrics = { frameRateLimited: () => {}, socketRefused: () => {} };

describe('token bucket', () => {
  test('starts full, empties, and has the next token exactly when the rate says: not at d−1, at d', () => {
    const bucket = createTokenBucket({ burst: 2, perSecond: 4 }, 0);
    expect([bucket.take(0), bucket.take(0)]).toEqual([0, 0]);
    expect(bucket.take(0)).toBe(250);
    expect(bucket.take(249)).toBe(1);
    expect(bucket.take(250)).toBe(0);
    expect(bucket.wait(250)).toBe(250);
  });

  test('refills up to its burst and no further', () => {
    const bucket = createTokenBucket({ burst: 3, perSecond: 1 }, 0);
    for (let i = 0; i < 3; i++) bucket.take(0);
    expect(bucket.untilFull(0)).toBe(3000);
    expect(bucket.untilFull(1_000_000)).toBe(0);
    for (let i = 0; i < 3; i++) expect(bucket.take(1_000_000)).toBe(0);
    expect(bucket.take(1_000_000)).toBe(1000);
  });

  test('a busy bucket keeps the pace of a fractional rate over many tokens (no rounding drift)', () => {
    const bucket = createTokenBucket({ burst: 2, perSecond: 3 }, 0);
    let taken = 0;
    for (let at = 0; at <= 10_000; at += 1) if (bucket.take(at) === 0) taken += 1;
    // The burst of 2, then one every 333⅓ ms for 10 s.
    expect(taken).toBe(32);
  });
});

describe('window count', () => {
  test('the (max + 1)th event within the window is over; older events drop out of it', () => {
    const count = createWindowCount(3, 1000);
    expect([count.add(0), count.add(10), count.add(20)]).toEqual([false, false, false]);
    expect(count.add(999)).toBe(true);
    // Events at 10, 20 and 999 are in the window of 1500; 1010 pushes out 10.
    expect(count.add(1010)).toBe(false);
    expect(count.add(1011)).toBe(true);
  });
});

describe('addressKey', () => {
  test.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['2001:db8:0:1::2', '2001:db8:0:1::/64'],
    ['2001:0DB8:0000:0001:ffff:1:2:3', '2001:db8:0:1::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    [undefined, 'unknown'],
  ])('%s counts as %s', (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});

/** A signed-in connection's limiter with what it sent and how it was closed. */
function signedIn(caps: ReturnType<typeof createConnectionCaps>, user = 'dev') {
  const sent: ServerFrame[] = [];
  const drops: Array<[number, string, string | undefined]> = [];
  const admission = caps.admit('127.0.0.1');
  if (!admission.ok) throw new Error(admission.error.message);
  const signIn = admission.ticket.signIn(user, { out: { send: (f) => sent.push(f) }, drop: (code, reason, refusal) => drops.push([code, reason, refusal]) });
  if (!signIn.ok) throw new Error(signIn.error.message);
  return { ticket: admission.ticket, frames: signIn.frames, sent, drops };
}

describe('frame limiter', () => {
  const limits = (over: Partial<Limits>) => resolveLimits({ ...over });

  test('subscribe over its bucket is answered rate-limited with its topic and wait; the frame after the tolerated refusals closes with 4029', () => {
    let now = 0;
    const caps = createConnectionCaps({ limits: limits({ subscribeRate: { burst: 1, perSecond: 1 }, maxRateLimited: 2 }), metrics: noMetrics, clock: () => now });
    const { frames, sent, drops } = signedIn(caps);
    expect(frames.admit({ t: 'subscribe', topic: 'news' })).toBe(true);
    expect(frames.admit({ t: 'unsubscribe', topic: 'news' })).toBe(false);
    expect(sent).toEqual([
      { t: 'error', code: 'rate-limited', topic: 'news', retryAfterMs: 1000, message: expect.stringMatching(/too many unsubscribe frames .*retry in 1000 ms/) },
    ]);
    now = 999;
    expect(frames.admit({ t: 'subscribe', topic: 'news' })).toBe(false);
    expect(drops).toEqual([]);
    expect(frames.admit({ t: 'subscribe', topic: 'news' })).toBe(false);
    expect(drops).toEqual([[CloseCode.rateLimited, 'rate limited', 'rate-limited']]);
    expect(sent.at(-1)).toMatchObject({ t: 'error', code: 'rate-limited', message: expect.stringMatching(/^Closed: more than 2 frames refused/) });
    // Already closing: nothing more is sent.
    const count = sent.length;
    expect(frames.admit({ t: 'subscribe', topic: 'news' })).toBe(false);
    expect(sent).toHaveLength(count);
  });

  test('send takes from the connection and from the user, whose bucket its connections share', () => {
    const now = 0;
    const caps = createConnectionCaps({ limits: limits({ sendRate: { burst: 2, perSecond: 1 }, userSendRate: { burst: 3, perSecond: 1 } }), metrics: noMetrics, clock: () => now });
    const a = signedIn(caps);
    const b = signedIn(caps);
    const send = (id: string) => ({ t: 'send', id, kind: 'alert.create', body: {} }) as const;
    expect([a.frames.admit(send('1')), a.frames.admit(send('2'))]).toEqual([true, true]);
    expect(a.frames.admit(send('3'))).toBe(false);
    expect(a.sent).toEqual([{ t: 'ack', id: '3', ok: false, error: { code: 'rate-limited', retryAfterMs: 1000, message: expect.stringMatching(/per connection/) } }]);
    expect(b.frames.admit(send('4'))).toBe(true);
    expect(b.frames.admit(send('5'))).toBe(false);
    expect(b.sent).toEqual([{ t: 'ack', id: '5', ok: false, error: { code: 'rate-limited', retryAfterMs: 1000, message: expect.stringMatching(/for user dev/) } }]);
    // Another user has its own.
    expect(signedIn(caps, 'alice').frames.admit(send('6'))).toBe(true);
  });

  test('pings over their allowance are left unanswered (no frame sent) but counted toward the close', () => {
    const caps = createConnectionCaps({ limits: limits({ controlRate: { burst: 1, perSecond: 1 }, maxRateLimited: 1 }), metrics: noMetrics, clock: () => 0 });
    const { frames, sent, drops } = signedIn(caps);
    expect(frames.admit({ t: 'ping', at: 1 })).toBe(true);
    expect(frames.admit({ t: 'pong', at: 1 })).toBe(false);
    expect(sent).toEqual([]);
    expect(frames.admit({ t: 'ping', at: 2 })).toBe(false);
    expect(drops).toHaveLength(1);
  });
});

describe('connection caps', () => {
  const caps = (over: Partial<Limits>) => createConnectionCaps({ limits: resolveLimits(over), metrics: noMetrics, clock: () => 0 });
  const link = { out: { send: () => {} }, drop: () => {} };

  test('the server-wide cap counts every ticket until released, once', () => {
    const limits = caps({ maxClients: 2 });
    const a = limits.admit('10.0.0.1');
    const b = limits.admit('10.0.0.2');
    expect(limits.admit('10.0.0.3')).toMatchObject({ ok: false, closeCode: CloseCode.tryAgainLater, metric: 'server-busy' });
    if (!a.ok || !b.ok) throw new Error('admitted');
    a.ticket.release();
    a.ticket.release();
    expect(limits.count()).toBe(1);
    expect(limits.admit('10.0.0.3').ok).toBe(true);
    expect(limits.admit('10.0.0.4').ok).toBe(false);
  });

  test('pending connections count per address until they sign in or close; 0 turns the cap off', () => {
    const limits = caps({ maxPendingPerAddress: 1 });
    const first = limits.admit('::ffff:10.0.0.1');
    expect(limits.admit('10.0.0.1')).toMatchObject({ ok: false, metric: 'too-many-pending' });
    expect(limits.admit('10.0.0.2').ok).toBe(true);
    if (!first.ok) throw new Error('admitted');
    first.ticket.signIn('dev', link);
    expect(limits.admit('10.0.0.1').ok).toBe(true);
    const off = caps({ maxPendingPerAddress: 0 });
    for (let i = 0; i < 100; i++) expect(off.admit('10.0.0.1').ok).toBe(true);
  });

  test('a user over its cap is refused with 4013; a refused or released ticket frees its place', () => {
    const limits = caps({ maxClientsPerUser: 1 });
    const tickets: Ticket[] = [];
    const signIn = (user: string) => {
      const admission = limits.admit('10.0.0.1');
      if (!admission.ok) throw new Error(admission.error.message);
      tickets.push(admission.ticket);
      return admission.ticket.signIn(user, link);
    };
    expect(signIn('dev').ok).toBe(true);
    expect(signIn('dev')).toMatchObject({ ok: false, closeCode: CloseCode.tooManyConnections, metric: 'too-many-connections' });
    expect(signIn('alice').ok).toBe(true);
    for (const ticket of tickets.slice(0, 2)) ticket.release();
    expect(limits.count()).toBe(1);
    expect(signIn('dev').ok).toBe(true);
    limits.stop();
  });
});

describe('limit options and environment', () => {
  test('defaults are in force and frozen', () => {
    const options = resolveOptions({});
    expect(options.limits).toEqual(LIMIT_DEFAULTS);
    expect(Object.isFrozen(options.limits) && Object.isFrozen(options.limits.sendRate)).toBe(true);
    expect(resolveOptions({ limits: { maxClients: 7, sendRate: undefined } }).limits).toMatchObject({ maxClients: 7, sendRate: LIMIT_DEFAULTS.sendRate });
  });

  test.each<[Partial<Limits>, RegExp]>([
    [{ sendRate: { burst: 0, perSecond: 1 } }, /limits\.sendRate/],
    [{ subscribeRate: { burst: 5, perSecond: 0 } }, /limits\.subscribeRate/],
    [{ maxClients: 0 }, /limits\.maxClients/],
    [{ maxRateLimited: 0 }, /limits\.maxRateLimited/],
    [{ maxSocketsPerAddress: -1 }, /limits\.maxSocketsPerAddress/],
    [{ headersTimeoutMs: 5000, requestTimeoutMs: 1000 }, /headersTimeoutMs must not be above/],
  ])('%j is refused', (limits, message) => {
    expect(() => resolveOptions({ limits })).toThrow(message);
  });

  test.each([
    ['10/s', { perSecond: 10, burst: LIMIT_DEFAULTS.sendRate.burst }],
    ['0.5/s,3', { perSecond: 0.5, burst: 3 }],
    [' 20 / s , 200 ', { perSecond: 20, burst: 200 }],
    ['10', null],
    ['0/s', null],
    ['10/s,0', null],
    ['10/m', null],
  ])('rate %j reads as %j', (text, rate) => {
    expect(parseRate(text, LIMIT_DEFAULTS.sendRate)).toEqual(rate);
  });

  test('the variables are read into options.limits; unset ones leave the defaults', () => {
    const config = readEnv({
      MAX_CLIENTS: '100',
      MAX_CLIENTS_PER_USER: '4',
      MAX_PENDING_PER_ADDRESS: '0',
      MAX_SOCKETS: '2000',
      MAX_SOCKETS_PER_ADDRESS: '50',
      HTTP_HEADERS_TIMEOUT_MS: '5000',
      HTTP_REQUEST_TIMEOUT_MS: '20000',
      SUBSCRIBE_RATE: '5/s,50',
      SEND_RATE: '2/s',
      USER_SEND_RATE: '4/s,8',
    });
    expect(config.ok && config.value.options.limits).toEqual({
      maxClients: 100,
      maxClientsPerUser: 4,
      maxPendingPerAddress: 0,
      maxSockets: 2000,
      maxSocketsPerAddress: 50,
      headersTimeoutMs: 5000,
      requestTimeoutMs: 20_000,
      subscribeRate: { perSecond: 5, burst: 50 },
      sendRate: { perSecond: 2, burst: LIMIT_DEFAULTS.sendRate.burst },
      userSendRate: { perSecond: 4, burst: 8 },
    });
    const unset = readEnv({});
    expect(unset.ok && unset.value.options.limits).toEqual({});
  });

  test.each([
    [{ MAX_CLIENTS: 'lots' }, /MAX_CLIENTS must be a whole number/],
    [{ MAX_CLIENTS: '0' }, /limits\.maxClients must be an integer from 1/],
    [{ MAX_SOCKETS_PER_ADDRESS: '-5' }, /MAX_SOCKETS_PER_ADDRESS must be a whole number/],
    [{ SEND_RATE: 'fast' }, /SEND_RATE must be a rate such as 10\/s/],
    [{ HTTP_HEADERS_TIMEOUT_MS: '60000', HTTP_REQUEST_TIMEOUT_MS: '1000' }, /headersTimeoutMs must not be above/],
  ])('%j is refused with a reason', (env, message) => {
    const config = readEnv(env);
    expect(config.ok ? '' : config.error.message).toMatch(message);
  });
});
