/**
 * The frame codec: every frame type round-trips, and hostile input (limits, malformed msgpack,
 * `__proto__` keys, wrong shapes, non-finite numbers, text frames) comes back as a failure that
 * names the evidence, never as an exception.
 */
import { encode } from '@msgpack/msgpack';
import { describe, expect, test } from 'vitest';
import { createCodec, DEFAULT_LIMITS, type RawFrame } from '../../lib/wire/codec';
import { PROTOCOL_VERSION, type ClientFrame, type ServerFrame } from '../../lib/wire/protocol';

const codec = createCodec();
const tick = { symbol: 'AAPL', price: 228.51, prev: 228.5, at: 1_763_900_000_000 };

const clientFrames: ClientFrame[] = [
  { t: 'hello', v: PROTOCOL_VERSION, token: 'dev-token', client: 'switchboard-ext/0.1' },
  { t: 'hello', v: PROTOCOL_VERSION, token: 'dev-token' },
  { t: 'subscribe', topic: 'prices:AAPL' },
  { t: 'subscribe', topic: 'feed:dev', since: { epoch: 'e1', seq: 41 } },
  { t: 'subscribe', topic: 'news', since: { epoch: 'e1', seq: 0 }, last: 50 },
  { t: 'subscribe', topic: 'news', last: 500 },
  { t: 'unsubscribe', topic: 'prices:*' },
  { t: 'ping', at: 1_763_900_000_000 },
  { t: 'pong', at: 0 },
  { t: 'send', id: '3b241101-e2bb-4255-8caf-4136c566a962', kind: 'alert.create', body: { symbol: 'AAPL', above: 250 } },
  { t: 'refresh', token: 'new-token' },
];

const serverFrames: ServerFrame[] = [
  { t: 'welcome', v: PROTOCOL_VERSION, session: 's-1', user: 'dev', heartbeatMs: 15_000, serverTime: 1_763_900_000_000, maxFrameBytes: 65_536 },
  { t: 'subscribed', topic: 'prices:AAPL', mode: 'state' },
  { t: 'subscribed', topic: 'feed:dev', mode: 'stream', recovery: 'recovered', position: { epoch: 'e1', seq: 42 } },
  { t: 'subscribed', topic: 'feed:dev', mode: 'stream', recovery: 'trimmed', position: { epoch: 'e1', seq: 42 }, from: 40 },
  { t: 'subscribed', topic: 'news', mode: 'stream', recovery: 'epoch changed', position: { epoch: 'e2', seq: 0 } },
  { t: 'welcome', v: PROTOCOL_VERSION, session: 's-2', user: 'alice', heartbeatMs: 15_000, serverTime: 1, maxFrameBytes: 65_536, tokenExpiresAt: 1_766_000_000_000 },
  { t: 'refreshed', user: 'alice', tokenExpiresAt: 1_766_000_000_000 },
  {
    t: 'event',
    topic: 'feed:alice',
    epoch: 'Zk3xq0aB9cDeFgHi',
    seq: 12,
    data: { title: '<script>alert(1)</script>', body: 'text ✓', level: 'high', url: 'https://example.com/' },
    at: 1_763_900_000_000,
  },
  { t: 'unsubscribed', topic: 'prices:AAPL' },
  { t: 'unsubscribed', topic: 'feed:dev', reason: 'forbidden' },
  { t: 'state', topic: 'prices:AAPL', value: tick, at: tick.at },
  { t: 'event', topic: 'news', epoch: 'e1', seq: 7, data: { title: 'Hello' }, at: 1 },
  { t: 'batch', frames: [{ t: 'state', topic: 'prices:AAPL', value: tick, at: tick.at }, { t: 'event', topic: 'news', epoch: 'e1', seq: 8, data: null, at: 2 }] },
  { t: 'ping', at: 5 },
  { t: 'pong', at: 6 },
  { t: 'ack', id: 'm-1', ok: true, result: { alertId: 'a-1' } },
  { t: 'ack', id: 'm-2', ok: true },
  { t: 'ack', id: 'm-3', ok: false, error: { code: 'invalid', message: 'Unknown message kind: x' } },
  { t: 'error', code: 'unknown-topic', topic: 'weather:paris', message: 'Unknown topic' },
];

describe('round trips', () => {
  test.each(clientFrames.map((f) => [f.t, f] as const))('client %s', (_t, frame) => {
    expect(codec.decodeClientFrame(codec.encode(frame))).toEqual({ ok: true, frame });
  });

  test.each(serverFrames.map((f) => [f.t, f] as const))('server %s', (_t, frame) => {
    expect(codec.decodeServerFrame(codec.encode(frame))).toEqual({ ok: true, frame });
  });

  test('every input shape ws and browsers hand over: Uint8Array, Buffer slice, ArrayBuffer, Buffer[] fragments', () => {
    const frame: ClientFrame = { t: 'subscribe', topic: 'prices:MSFT' };
    const bytes = codec.encode(frame);
    const padded = Buffer.concat([Buffer.from([9, 9, 9]), Buffer.from(bytes)]).subarray(3);
    const fragments = [Buffer.from(bytes.subarray(0, 2)), Buffer.from(bytes.subarray(2, 5)), Buffer.from(bytes.subarray(5))];
    const arrayBuffer = new Uint8Array(bytes).buffer;
    const inputs: RawFrame[] = [bytes, padded, arrayBuffer, fragments];
    for (const raw of inputs) {
      expect(codec.decodeClientFrame(raw)).toEqual({ ok: true, frame });
    }
  });

  test('unknown fields are dropped, not passed on', () => {
    const decoded = codec.decodeClientFrame(encode({ t: 'ping', at: 1, extra: 'x' }));
    expect(decoded).toEqual({ ok: true, frame: { t: 'ping', at: 1 } });
  });

  test('undefined optional fields are not encoded', () => {
    const bytes = codec.encode({ t: 'error', code: 'internal', message: 'x', topic: undefined } as ServerFrame);
    expect(Buffer.from(bytes).includes(Buffer.from('topic'))).toBe(false);
  });
});

/** A msgpack map header with `n` entries (fixmap). */
const fixmap = (n: number) => 0x80 | n;
/** A msgpack fixstr. */
const str = (s: string) => [0xa0 | s.length, ...Buffer.from(s)];

describe('hostile input', () => {
  test.each<[string, Parameters<typeof codec.decodeClientFrame>[0], 'bad-frame' | 'unknown-frame' | 'too-large', RegExp]>([
    ['truncated msgpack', codec.encode({ t: 'hello', v: 1, token: 'dev-token' }).subarray(0, 10), 'bad-frame', /Malformed msgpack: .*(insufficient|range)/i],
    ['the never-used byte 0xc1', new Uint8Array([0xc1]), 'bad-frame', /Malformed msgpack: .*0xc1/i],
    ['an empty frame', new Uint8Array(0), 'bad-frame', /Malformed msgpack/],
    ['trailing bytes', new Uint8Array([...codec.encode({ t: 'ping', at: 1 }), 0x00]), 'bad-frame', /Malformed msgpack: .*extra/i],
    ['a frame over maxFrameBytes', new Uint8Array(DEFAULT_LIMITS.maxFrameBytes + 1), 'too-large', /65537 bytes exceeds the limit of 65536/],
    ['a string over maxStrLength', encode({ t: 'refresh', token: 'x'.repeat(DEFAULT_LIMITS.maxStrLength + 1) }), 'bad-frame', /Max length exceeded.*16385/],
    ['an array over maxArrayLength', encode({ t: 'send', id: 'i', kind: 'k', body: new Array(DEFAULT_LIMITS.maxArrayLength + 1).fill(0) }), 'bad-frame', /Max length exceeded.*4097/],
    ['a map over maxMapLength', encode({ t: 'send', id: 'i', kind: 'k', body: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`k${i}`, 0])) }), 'bad-frame', /Max length exceeded.*257/],
    ['an ext type', new Uint8Array([fixmap(1), ...str('t'), 0xd4, 0x01, 0x00]), 'bad-frame', /Malformed msgpack: .*ext/i],
    ['nesting deeper than maxDepth', encode({ t: 'send', id: 'i', kind: 'k', body: nest(DEFAULT_LIMITS.maxDepth + 2) }), 'bad-frame', /nests deeper than 16/],
    ['a top-level array', encode(['hello', 1, 'dev-token']), 'bad-frame', /must be a map/],
    ['a top-level number', encode(42), 'bad-frame', /must be a map/],
    ['a top-level nil', new Uint8Array([0xc0]), 'bad-frame', /must be a map/],
    ['a missing tag', encode({ v: 1, token: 'dev-token' }), 'bad-frame', /string tag "t"/],
    ['a numeric tag', encode({ t: 1 }), 'bad-frame', /string tag "t"/],
    ['an unknown tag', encode({ t: 'launch' }), 'unknown-frame', /Unknown frame type: "launch"/],
    ['a server-only tag from a client', encode({ t: 'welcome' }), 'unknown-frame', /Unknown frame type: "welcome"/],
    ['an inherited-property tag', encode({ t: 'toString' }), 'unknown-frame', /"toString"/],
    ['a NaN time', encode({ t: 'ping', at: Number.NaN }), 'bad-frame', /Invalid ping frame: at/],
    ['an Infinity time', encode({ t: 'pong', at: Number.POSITIVE_INFINITY }), 'bad-frame', /Invalid pong frame: at/],
    ['a NaN version', encode({ t: 'hello', v: Number.NaN, token: 'x' }), 'bad-frame', /Invalid hello frame: v/],
    ['a wrong field type', encode({ t: 'subscribe', topic: ['prices:AAPL'] }), 'bad-frame', /Invalid subscribe frame: topic/],
    ['a topic over 80 characters', encode({ t: 'subscribe', topic: `prices:${'A'.repeat(80)}` }), 'bad-frame', /Invalid subscribe frame: topic/],
    ['a text frame', '{"t":"ping","at":1}', 'bad-frame', /Text frames are not accepted/],
  ])('%s', (_name, raw, code, message) => {
    const decoded = codec.decodeClientFrame(raw);
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.code).toBe(code);
    expect(decoded.message).toMatch(message);
  });

  test('a __proto__ key is refused by name and pollutes nothing', () => {
    const hostile = encode(JSON.parse('{"t":"send","id":"i","kind":"k","body":{"__proto__":{"polluted":true}}}') as unknown);
    const topLevel = new Uint8Array([fixmap(2), ...str('t'), ...str('ping'), 0xa9, ...Buffer.from('__proto__'), fixmap(1), ...str('at'), 0x01]);
    for (const raw of [hostile, topLevel]) {
      const decoded = codec.decodeClientFrame(raw);
      expect(decoded).toMatchObject({ ok: false, code: 'bad-frame' });
      expect(decoded.ok ? '' : decoded.message).toMatch(/__proto__/);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(Object.prototype).not.toHaveProperty('at');
  });

  test('a failure leaves the codec usable for the next frame', () => {
    expect(codec.decodeClientFrame(new Uint8Array([0x82, 0xa1])).ok).toBe(false);
    expect(codec.decodeClientFrame(codec.encode({ t: 'ping', at: 3 }))).toEqual({ ok: true, frame: { t: 'ping', at: 3 } });
  });

  test('limits are options: a smaller maxFrameBytes refuses what the default accepts', () => {
    const small = createCodec({ maxFrameBytes: 1024 });
    const frame = codec.encode({ t: 'refresh', token: 'x'.repeat(2000) });
    expect(codec.decodeClientFrame(frame).ok).toBe(true);
    expect(small.decodeClientFrame(frame)).toMatchObject({ ok: false, code: 'too-large' });
  });

  test.each<[string, unknown, RegExp]>([
    ['a negative cursor seq', { t: 'subscribe', topic: 'news', since: { epoch: 'e', seq: -1 } }, /since\.seq/],
    ['a fractional cursor seq', { t: 'subscribe', topic: 'news', since: { epoch: 'e', seq: 1.5 } }, /since\.seq/],
    ['an epoch over 64 characters', { t: 'subscribe', topic: 'news', since: { epoch: 'e'.repeat(65), seq: 1 } }, /since\.epoch/],
    ['a cursor without an epoch', { t: 'subscribe', topic: 'news', since: { seq: 1 } }, /since\.epoch/],
    ['last over 500', { t: 'subscribe', topic: 'news', last: 501 }, /last/],
    ['a negative last', { t: 'subscribe', topic: 'news', last: -1 }, /last/],
    ['a refresh without a token', { t: 'refresh' }, /token/],
  ])('subscribe and refresh: %s is refused by field', (_name, value, message) => {
    expect(codec.decodeClientFrame(encode(value))).toMatchObject({ ok: false, code: 'bad-frame', message: expect.stringMatching(message) });
  });

  test('stream frames from a server are checked: an event needs its epoch and a whole seq', () => {
    expect(codec.decodeServerFrame(encode({ t: 'event', topic: 'news', seq: 1, data: {}, at: 1 }))).toMatchObject({ ok: false, message: expect.stringMatching(/epoch/) });
    expect(codec.decodeServerFrame(encode({ t: 'event', topic: 'news', epoch: 'e', seq: 1.5, data: {}, at: 1 }))).toMatchObject({ ok: false, message: expect.stringMatching(/seq/) });
    expect(codec.decodeServerFrame(encode({ t: 'subscribed', topic: 'news', mode: 'stream', recovery: 'lost' }))).toMatchObject({ ok: false, message: expect.stringMatching(/recovery/) });
  });

  test('invalid server frames are refused on the client side too', () => {
    const bad = encode({ t: 'welcome', v: 1, session: 's', user: 'dev', heartbeatMs: 10, serverTime: 1, maxFrameBytes: 65536 });
    expect(codec.decodeServerFrame(bad)).toMatchObject({ ok: false, code: 'bad-frame', message: expect.stringMatching(/heartbeatMs/) });
    expect(codec.decodeServerFrame(encode({ t: 'hello' }))).toMatchObject({ ok: false, code: 'unknown-frame' });
  });
});

function nest(depth: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}
