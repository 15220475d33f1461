/**
 * Frames for fuzzing the hub, all drawn from one seeded generator so a run is repeated exactly from
 * its seed: random bytes, valid frames with bytes flipped, cut or spliced, frames of the right shape
 * with hostile values (times no `Date` holds, huge counts and seqs, `__proto__` keys, wrong types,
 * oversized arrays), and good frames that keep the hub's streams, prices, alerts and outbox busy so
 * the hostile ones reach past the decoder. `FuzzServer` also plays the server's side of the stream
 * subscriptions the hub asks for, so its feed stays live throughout.
 */
import { encode } from '@msgpack/msgpack';
import type { ClientFrame, FrameOf, ServerFrame } from '../../lib/wire/protocol';

export { seededRandom } from './random';

export interface Dice {
  readonly random: () => number;
  /** An integer in [0, n). */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

export function dice(random: () => number): Dice {
  const int = (n: number): number => Math.floor(random() * n);
  return { random, int, pick: (items) => items[int(items.length)]!, chance: (p) => random() < p };
}

const YEAR = 365.25 * 24 * 3600 * 1000;

/** The user the fuzzed hub is signed in as. */
export const FUZZ_USER = 'ann';
const STREAM_TOPICS = [`feed:${FUZZ_USER}`, 'news'] as const;
const SYMBOLS = ['AAPL', 'MSFT', 'BTC-USD'] as const;

/** A value of any type, hostile more often than not; `depth` bounds nesting. */
function anyValue(d: Dice, now: number, depth = 0): unknown {
  switch (d.int(depth > 3 ? 4 : 9)) {
    case 0:
      return hostileNumber(d, now);
    case 1:
      return hostileString(d);
    case 2:
      return d.pick([true, false, null, undefined]);
    case 3:
      return new Uint8Array(d.int(16)).map(() => d.int(256));
    case 4:
      return Array.from({ length: d.int(5) }, () => anyValue(d, now, depth + 1));
    case 5:
      return protoMap(anyValue(d, now, depth + 1));
    case 6:
      return { title: anyValue(d, now, depth + 1), body: anyValue(d, now, depth + 1), level: anyValue(d, now, depth + 1) };
    case 7:
      return Object.fromEntries(Array.from({ length: d.int(4) }, () => [hostileString(d), anyValue(d, now, depth + 1)]));
    default:
      // Deeper than the codec's nesting limit.
      return Array.from({ length: 20 }).reduce<unknown>((inner) => [inner], 1);
  }
}

export function hostileNumber(d: Dice, now: number): number {
  return d.pick([
    0, -1, -0, 1.5, 1e16, -1e16, 8.64e15, 8.64e15 + 1, 1e308, -1e308, 5e-324, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY,
    Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, 2 ** 32, now, now + 2 * YEAR, now - 50 * YEAR, d.int(1000),
  ]);
}

function hostileString(d: Dice): string {
  return d.pick([
    '', '__proto__', 'constructor', 'prototype', 'toString', 'feed:ann', 'feed:bob', 'news', 'prices:AAPL', 'prices:*', 'alerts:ann', 'alerts:bob',
    'x'.repeat(65), 'x'.repeat(501), '\u0000', '\ud800', '<script>alert(1)</script>', 'javascript:alert(1)', 'e1', 'E'.repeat(64), '1e16',
  ]);
}

/** A map with an own `__proto__` key, which a careless decoder turns into a prototype. */
function protoMap(value: unknown): unknown {
  return JSON.parse(`{"__proto__": ${JSON.stringify(value ?? null) ?? 'null'}, "polluted": 1}`) as unknown;
}

/** A time: mostly plausible, often not. */
function someTime(d: Dice, now: number): number {
  return d.chance(0.5) ? now - d.int(3600_000) : hostileNumber(d, now);
}

function tick(d: Dice, now: number, symbol: string = d.pick(SYMBOLS)): unknown {
  if (d.chance(0.6)) {
    const price = 1 + d.int(100_000) / 100;
    return { symbol, price, prev: price, at: someTime(d, now) };
  }
  return { symbol: d.chance(0.5) ? symbol : hostileString(d), price: hostileNumber(d, now), prev: anyValue(d, now), at: hostileNumber(d, now) };
}

function alertList(d: Dice, now: number): unknown {
  const one = () => ({
    id: d.chance(0.7) ? `a${d.int(5)}` : anyValue(d, now),
    rule: d.chance(0.7) ? { symbol: d.pick(SYMBOLS), condition: 'above', price: 100 + d.int(100), repeat: 'once' } : anyValue(d, now),
    status: d.pick(['active', 'paused', 'fired', 'expired', 'exploded']),
    createdAt: someTime(d, now),
    ...(d.chance(0.5) ? { firedAt: someTime(d, now), firedPrice: hostileNumber(d, now) } : {}),
    fireCount: d.chance(0.8) ? d.int(3) : hostileNumber(d, now),
  });
  return d.chance(0.9) ? { alerts: Array.from({ length: d.int(6) }, one) } : anyValue(d, now);
}

/** One stream topic's log as the fake server holds it. */
interface Log {
  epoch: string;
  /** Data of each `seq`, from 1. */
  readonly events: unknown[];
}

/**
 * The server's side of the fuzz: the stream logs (good events are appended to them, so what the
 * hub stores matches what a replay would send), and the answers to the hub's subscriptions.
 */
export class FuzzServer {
  private readonly logs = new Map<string, Log>(STREAM_TOPICS.map((topic) => [topic, { epoch: `${topic}-e1`, events: [] }]));
  /** Ids of client messages the hub sent, for acks that hit something. */
  readonly messageIds: string[] = [];
  /** How many of each socket's sent frames were answered. */
  private readonly answered = new WeakMap<readonly ClientFrame[], number>();

  constructor(private readonly d: Dice) {}

  /** The next good event of `topic`, appended to its log. */
  goodEvent(topic: string, now: number): FrameOf<ServerFrame, 'event'> {
    const log = this.logs.get(topic)!;
    const data = { title: `#${log.events.length + 1} of ${topic}`, body: 'text', level: this.d.pick(['info', 'warning', 'high']) };
    log.events.push(data);
    const seq = log.events.length;
    return { t: 'event', topic, epoch: log.epoch, seq, data, at: this.d.chance(0.9) ? now : hostileNumber(this.d, now) };
  }

  /** Starts a new epoch of `topic` (the server lost its log): the hub must resynchronise. */
  reset(topic: string): void {
    const log = this.logs.get(topic)!;
    log.epoch = `${topic}-e${Number(log.epoch.split('-e').at(-1)) + 1}`;
    log.events.length = 0;
  }

  /**
   * The answers to every `subscribe` in `sent` (one socket's frames) since the last call, stream
   * topics replayed as a server would; the ids of client messages are noted for acks.
   */
  answer(sent: readonly ClientFrame[], now: number): ServerFrame[] {
    const frames: ServerFrame[] = [];
    for (const frame of sent.slice(this.answered.get(sent) ?? 0)) {
      if (frame.t === 'send') this.messageIds.push(frame.id);
      if (frame.t !== 'subscribe') continue;
      const log = this.logs.get(frame.topic);
      if (!log) {
        frames.push({ t: 'subscribed', topic: frame.topic, mode: 'state' });
        continue;
      }
      const head = { epoch: log.epoch, seq: log.events.length };
      const since = frame.since;
      const resumes = since !== undefined && since.epoch === log.epoch && since.seq <= head.seq;
      const first = resumes ? since.seq + 1 : Math.max(1, head.seq - (frame.last ?? 0) + 1);
      const recovery = since === undefined ? 'fresh' : resumes ? 'recovered' : 'epoch changed';
      frames.push({ t: 'subscribed', topic: frame.topic, mode: 'stream', recovery, position: head, ...(first <= head.seq ? { from: first } : {}) });
      for (let seq = first; seq <= head.seq; seq++) frames.push({ t: 'event', topic: frame.topic, epoch: log.epoch, seq, data: log.events[seq - 1], at: now });
    }
    this.answered.set(sent, sent.length);
    return frames;
  }

  /** A frame of the right type with values drawn to hurt: a plain object, encoded as is (not validated). */
  hostileFrame(now: number): unknown {
    const d = this.d;
    const topic = () => (d.chance(0.7) ? d.pick([...STREAM_TOPICS, 'prices:AAPL', 'prices:MSFT', `alerts:${FUZZ_USER}`]) : hostileString(d));
    const log = this.logs.get(d.pick(STREAM_TOPICS))!;
    const seq = () => (d.chance(0.6) ? Math.max(0, log.events.length + d.int(5) - 2) : hostileNumber(d, now));
    const maybe = (value: () => unknown) => (d.chance(0.8) ? value() : anyValue(d, now));
    const event = () => ({ t: 'event', topic: maybe(topic), epoch: maybe(() => (d.chance(0.8) ? log.epoch : hostileString(d))), seq: maybe(seq), data: maybe(() => anyValue(d, now)), at: maybe(() => someTime(d, now)) });
    const state = () => ({ t: 'state', topic: maybe(topic), value: d.chance(0.5) ? tick(d, now) : alertList(d, now), at: maybe(() => someTime(d, now)) });
    switch (d.int(12)) {
      case 0:
        return event();
      case 1:
        return state();
      case 2:
        // One more element than the codec takes: small ones, so the frame stays within the size limit.
        if (d.chance(0.05)) return { t: 'batch', frames: new Array<number>(4097).fill(0) };
        return { t: 'batch', frames: Array.from({ length: d.int(12) }, () => (d.chance(0.5) ? event() : d.chance(0.9) ? state() : anyValue(d, now))) };
      case 3:
        return {
          t: 'subscribed',
          topic: maybe(topic),
          mode: d.pick(['stream', 'state', 'bogus']),
          recovery: d.pick(['fresh', 'recovered', 'trimmed', 'epoch changed', 'lost']),
          position: maybe(() => ({ epoch: d.chance(0.5) ? log.epoch : hostileString(d), seq: seq() })),
          from: maybe(seq),
        };
      case 4:
        return { t: 'unsubscribed', topic: maybe(topic), reason: maybe(() => hostileString(d)) };
      case 5:
        return { t: 'error', code: d.pick(['invalid', 'internal', 'forbidden', 'rate-limited', 'unknown-topic', 'nonsense']), message: maybe(() => hostileString(d)), topic: maybe(topic) };
      case 6: {
        const id = d.chance(0.6) && this.messageIds.length > 0 ? d.pick(this.messageIds) : hostileString(d);
        return d.chance(0.5)
          ? { t: 'ack', id, ok: true, result: anyValue(d, now) }
          : { t: 'ack', id, ok: false, error: maybe(() => ({ code: d.pick(['invalid', 'internal', 'rate-limited', 'bogus']), message: hostileString(d) })) };
      }
      case 7:
        return { t: d.pick(['ping', 'pong']), at: hostileNumber(d, now) };
      case 8:
        return { t: 'welcome', v: maybe(() => d.pick([1, 2, 0])), session: hostileString(d), user: hostileString(d), heartbeatMs: hostileNumber(d, now), serverTime: hostileNumber(d, now), maxFrameBytes: hostileNumber(d, now) };
      case 9:
        return { t: 'refreshed', user: hostileString(d), tokenExpiresAt: hostileNumber(d, now) };
      case 10: {
        // Well-formed, for a topic the hub holds, with numbers that do not add up.
        const head = { epoch: d.chance(0.7) ? log.epoch : hostileString(d), seq: seq() };
        return { t: 'subscribed', topic: d.pick(STREAM_TOPICS), mode: 'stream', recovery: d.pick(['fresh', 'recovered', 'trimmed', 'epoch changed']), position: head, from: seq() };
      }
      default:
        return protoMap({ t: d.pick(['state', 'event', 'ack']), topic: topic(), at: now });
    }
  }

  /** A frame a correct server could send, keeping the hub's streams, prices and alerts moving. */
  goodFrame(now: number): ServerFrame {
    const d = this.d;
    switch (d.int(5)) {
      case 0:
      case 1:
        return this.goodEvent(d.pick(STREAM_TOPICS), now);
      case 2: {
        const symbol = d.pick(SYMBOLS);
        const price = 1 + d.int(100_000) / 100;
        return { t: 'state', topic: `prices:${symbol}`, value: { symbol, price, prev: price, at: now }, at: now };
      }
      case 3:
        return {
          t: 'state',
          topic: `alerts:${FUZZ_USER}`,
          value: { alerts: [{ id: 'a1', rule: { symbol: 'AAPL', condition: 'above', price: 200, repeat: 'once' }, status: 'active', createdAt: now, fireCount: 0 }] },
          at: now,
        };
      default:
        return this.messageIds.length > 0 ? { t: 'ack', id: d.pick(this.messageIds), ok: d.chance(0.7) } as ServerFrame : { t: 'pong', at: now };
    }
  }
}

/** Bytes of a valid or hostile frame with a few of them flipped, cut, repeated or inserted. */
export function mutate(d: Dice, bytes: Uint8Array): Uint8Array {
  let out: number[] = Array.from(bytes);
  // Splicing by concatenation: a spread of a big frame's bytes would overflow the call stack.
  const insert = (at: number, part: readonly number[]): number[] => out.slice(0, at).concat(part, out.slice(at));
  for (let edits = 1 + d.int(4); edits > 0; edits--) {
    const at = d.int(out.length + 1);
    switch (d.int(5)) {
      case 0:
        if (out.length > 0) out[Math.min(at, out.length - 1)] = d.int(256);
        break;
      case 1:
        out = out.slice(0, at);
        break;
      case 2:
        out = insert(at, Array.from({ length: 1 + d.int(8) }, () => d.int(256)));
        break;
      case 3:
        out = insert(at, out.slice(d.int(out.length + 1), d.int(out.length + 1)));
        break;
      default:
        // A msgpack length or type byte that claims far more than follows.
        out = insert(at, [d.pick([0xdd, 0xdf, 0xdb, 0xc6, 0xcf, 0xc1]), 0xff, 0xff, 0xff, 0xff]);
    }
  }
  return Uint8Array.from(out);
}

/** msgpack of any value, `undefined` keys dropped as the codec drops them. */
export const pack = (value: unknown): Uint8Array => encode(value, { ignoreUndefined: true });

/** What the socket hands the hub: mostly binary, sometimes text or something no browser sends. */
export function asPayload(d: Dice, bytes: Uint8Array): unknown {
  if (d.chance(0.98)) return bytes.slice().buffer;
  return d.pick<unknown>(['a text frame', bytes, [bytes.subarray(0, 2), bytes.subarray(2)], null, 42, { data: bytes }]);
}
