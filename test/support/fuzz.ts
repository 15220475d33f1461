/**
 * Seeded hostile input for fuzz tests: a small deterministic random source and a generator of
 * client frames as an attacker would send them, each drawn from the seed alone: random bytes,
 * valid msgpack frames cut short or with bytes overwritten, valid frames whose fields hold hostile
 * values (huge and non-finite numbers, 64-bit integers, deep nesting, `__proto__` and
 * `constructor` keys, wrong types, unknown topics, other users' topics, strings and arrays past
 * the codec's limits), text frames, and now and then one over the frame size limit.
 */
import { Encoder } from '@msgpack/msgpack';
import { seededRandom } from './random';

/** A seeded uniform random source (`./random`'s mulberry32) with the draws a fuzz needs. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
  bytes(n: number): Uint8Array;
}

export function createRandom(seed: number): Random {
  const next = seededRandom(seed);
  const int = (n: number): number => Math.floor(next() * n);
  return {
    next,
    int,
    pick: (items) => items[int(items.length)]!,
    chance: (p) => next() < p,
    bytes(n) {
      const bytes = new Uint8Array(n);
      for (let i = 0; i < n; i++) bytes[i] = int(256);
      return bytes;
    },
  };
}

/** One frame to throw: bytes go as a binary frame, a string as a text frame. */
export interface FuzzFrame {
  readonly data: Uint8Array | string;
  /** Which generator made it, for a failure message. */
  readonly kind: string;
}

export interface FuzzOptions {
  /** The fuzzing client's own user, so some frames name its own topics. */
  readonly user: string;
  /** The server's frame size limit: a few frames go past it. */
  readonly maxFrameBytes: number;
}

const NUMBERS: readonly unknown[] = [
  0, -0, -1, 0.5, 1e16, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 64, -(2 ** 63), 4294967296,
  Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2n ** 64n - 1n, -(2n ** 63n),
];
const STRINGS: readonly string[] = [
  '', '__proto__', 'constructor', 'prototype', 'toString', 'news', 'prices:*', 'prices:', 'prices:AAPL', 'prices:aapl',
  'feed:', 'feed:someone-else', 'alerts:someone-else', 'weather:paris', 'feed:../../etc/passwd', 'news\u0000', '\ud800',
  '🚀'.repeat(50), 'x'.repeat(300), 'alert.create', 'alert.delete', 'hello', 'subscribe',
];
const TYPES: readonly string[] = ['hello', 'subscribe', 'unsubscribe', 'ping', 'pong', 'send', 'refresh', 'ack', 'event', 'welcome', '', 'SUBSCRIBE'];

/** Values just past the codec's limits (strings 16 KiB, arrays 4096, maps 256 keys), made once. */
const OVERSIZED: readonly unknown[] = [
  's'.repeat(16 * 1024 + 1),
  's'.repeat(16 * 1024),
  new Array<number>(4097).fill(0),
  Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`k${i}`, i])),
];

/** An object whose own keys are `__proto__` and `constructor` (a literal would set the prototype instead). */
const pollution = (): unknown => JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}');

export function createFuzzFrames(random: Random, options: FuzzOptions) {
  const r = random;
  const hex8 = () => r.int(2 ** 32).toString(16).padStart(8, '0');
  const uuid = () => {
    const h = hex8() + hex8() + hex8() + hex8();
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };

  /** A frame the server accepts as it stands. */
  function valid(): Record<string, unknown> {
    const own = [`feed:${options.user}`, `alerts:${options.user}`, 'news', 'prices:AAPL', 'prices:*'];
    switch (r.int(7)) {
      case 0:
        return { t: 'subscribe', topic: r.pick(own), ...(r.chance(0.5) ? { last: r.int(50) } : {}) };
      case 1:
        return { t: 'subscribe', topic: 'news', since: { epoch: uuid(), seq: r.int(100) }, last: 5 };
      case 2:
        return { t: 'unsubscribe', topic: r.pick(own) };
      case 3:
        return { t: 'ping', at: r.int(1e9) };
      case 4:
        return { t: 'pong', at: r.int(1e9) };
      case 5: {
        const rule = { symbol: 'AAPL', condition: r.pick(['above', 'below', 'crossing']), price: 150 + r.int(100) };
        return { t: 'send', id: uuid(), kind: 'alert.create', body: { alertId: uuid(), rule } };
      }
      default:
        return { t: 'send', id: uuid(), kind: r.pick(['alert.pause', 'alert.delete', 'alert.update']), body: { alertId: uuid(), paused: r.chance(0.5) } };
    }
  }

  /** Something hostile in a field, `depth` deep at most. */
  function hostile(depth = 0): unknown {
    // Past the size limits now and then: they are big, and one kind of hostile among many.
    if (depth === 0 && r.chance(0.03)) return r.pick(OVERSIZED);
    switch (r.int(depth > 2 ? 4 : 9)) {
      case 0:
        return r.pick(NUMBERS);
      case 1:
        return r.pick(STRINGS);
      case 2:
        return r.pick([null, true, false, undefined]);
      case 3:
        return r.bytes(r.int(40));
      case 4:
        return Array.from({ length: r.int(5) }, () => hostile(depth + 1));
      case 5:
        return Object.fromEntries(Array.from({ length: r.int(5) }, () => [r.pick(STRINGS), hostile(depth + 1)]));
      case 6:
        return pollution();
      case 7: {
        // Nesting past the codec's depth limit (16), but within the encoder's (100).
        let value: unknown = 1;
        for (let i = 0, n = 10 + r.int(80); i < n; i++) value = r.chance(0.5) ? [value] : { a: value };
        return value;
      }
      default:
        return new Map<unknown, unknown>([[r.int(10), 'number key'], [null, 'nil key']]);
    }
  }

  const encoder = new Encoder({ useBigInt64: true });
  const pack = (value: unknown): Uint8Array => encoder.encode(value);

  /** A valid frame with one field (or `t`, or a new field) made hostile. */
  function withHostileField(): Record<string, unknown> {
    const frame = valid();
    const fields = [...Object.keys(frame), 'extra', '__proto__'];
    const field = r.pick(fields);
    if (field === '__proto__') return Object.assign(pollution() as Record<string, unknown>, frame);
    if (field === 't' && r.chance(0.5)) return { ...frame, t: r.pick(TYPES) };
    const nested = frame.body ?? frame.since;
    if (nested && typeof nested === 'object' && r.chance(0.4)) {
      const inner = nested as Record<string, unknown>;
      inner[r.pick([...Object.keys(inner), 'rule', 'paused', 'seq', 'epoch'])] = hostile();
      return frame;
    }
    return { ...frame, [field]: hostile() };
  }

  /** A valid encoding changed: cut short, or bytes overwritten. */
  function damaged(bytes: Uint8Array, cut: boolean): Uint8Array {
    if (cut) return bytes.subarray(0, r.int(bytes.byteLength));
    const copy = Uint8Array.from(bytes);
    for (let i = 0, n = 1 + r.int(4); i < n; i++) copy[r.int(copy.byteLength)] = r.int(256);
    return copy;
  }

  /** The next frame to throw. */
  return function next(): FuzzFrame {
    const roll = r.next();
    if (roll < 0.15) return { kind: 'random bytes', data: r.bytes(r.int(200)) };
    if (roll < 0.3) return { kind: 'truncated', data: damaged(pack(valid()), true) };
    if (roll < 0.45) return { kind: 'mutated', data: damaged(pack(valid()), false) };
    if (roll < 0.8) return { kind: 'hostile field', data: pack(withHostileField()) };
    if (roll < 0.88) return { kind: 'hostile frame', data: pack(hostile()) };
    if (roll < 0.97) return { kind: 'valid', data: pack(valid()) };
    if (roll < 0.998) return { kind: 'text', data: r.chance(0.5) ? JSON.stringify(valid()) : r.pick(STRINGS) };
    if (roll < 0.9995) return { kind: 'refresh', data: pack({ t: 'refresh', token: r.pick(['', 'x.y.z', 'eyJhbGciOiJub25lIn0.e30.']) }) };
    return { kind: 'oversize', data: r.bytes(options.maxFrameBytes + 1 + r.int(1024)) };
  };
}
