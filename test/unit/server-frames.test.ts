/**
 * Frames encoded once for many sockets: the WebSocket framing prepared ahead is what `ws` itself
 * would write (a header and the shared payload, unmasked), writing one goes straight to `ws`'s
 * sender with those same buffers (and through `ws.send` where it cannot), a live event is encoded
 * once for all its subscribers, and packed batches are byte for byte the batch the codec would
 * encode (also a replay's events, which are never framed one by one). Also the token-expiry countdown, which sets a timer only once the expiry is near.
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import WebSocket from 'ws';
import { createCodec } from '../../lib/wire/codec';
import type { StateFrame } from '../../lib/wire/protocol';
import { createServerFrames } from '../../server/clients/frames';
import { createTokenExpiry } from '../../server/clients/token-expiry';
import type { StoredEvent } from '../../server/event-log/types';
import { prepareFrame, writePrepared } from '../../server/transports/prepared-frame';

const codec = createCodec();
const event = (seq: number): StoredEvent => ({ topic: 'news', epoch: 'E1', seq, at: 1_000 + seq, data: { title: `t${seq}`, body: '', level: 'info' } });
const state = (i: number): StateFrame => ({ t: 'state', topic: `prices:S${i}`, value: { symbol: `S${i}`, price: i, prev: i, at: i }, at: i });

describe('prepared frames', () => {
  test.each([
    ['a short payload', 100, [0x82, 100]],
    ['a 16-bit length', 300, [0x82, 126, 0x01, 0x2c]],
    ['a 64-bit length', 70_000, [0x82, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70]],
  ])('%s is framed as one unmasked binary message around the same payload', (_name, size, header) => {
    const payload = Uint8Array.from({ length: size }, (_, i) => i % 251);
    const frame = prepareFrame(payload, 'event');
    expect(frame.wire).toHaveLength(2);
    expect([...frame.wire![0]!]).toEqual(header);
    expect(frame.wire![1]).toBe(frame.bytes);
    expect(Buffer.compare(frame.bytes, Buffer.from(payload))).toBe(0);
  });

  test('writing goes to the sender with the prepared buffers themselves: no framing or copy per socket', () => {
    const frame = prepareFrame(codec.encode({ t: 'pong', at: 1 }), 'pong');
    const sent: unknown[] = [];
    const sockets = Array.from({ length: 3 }, () => ({ _sender: { _state: 0, sendFrame: (list: unknown) => sent.push(list) }, send: () => sent.push('send') }));
    for (const ws of sockets) writePrepared(ws as unknown as WebSocket, frame);
    expect(sent).toEqual([frame.wire, frame.wire, frame.wire]);
    expect(sent.every((list) => list === frame.wire)).toBe(true);
  });

  test.each([
    ['no sender to write to', {}],
    ['a sender busy compressing', { _sender: { _state: 1, sendFrame: () => undefined } }],
  ])('with %s it goes through ws.send, with the write callback', (_name, shape) => {
    const frame = prepareFrame(codec.encode({ t: 'pong', at: 1 }), 'pong');
    const calls: unknown[][] = [];
    const ws = { ...shape, send: (...args: unknown[]) => calls.push(args) };
    const done = vi.fn();
    writePrepared(ws as unknown as WebSocket, frame, done);
    expect(calls).toHaveLength(1);
    expect(calls[0]![0]).toBe(frame.bytes);
    expect(calls[0]![1]).toEqual({ binary: true });
    (calls[0]![2] as () => void)();
    expect(done).toHaveBeenCalledOnce();
  });
});

describe('server frames', () => {
  const frames = createServerFrames(codec, 1024);

  test('a live event is encoded once for all its subscribers: the same event object, the same bytes', () => {
    const one = event(1);
    expect(frames.event(one)).toBe(frames.event(one));
    const decoded = codec.decodeServerFrame(frames.event(one).bytes);
    expect(decoded).toEqual({ ok: true, frame: { t: 'event', topic: 'news', epoch: 'E1', seq: 1, at: 1_001, data: one.data } });
    // Another event (also an equal copy) is encoded for itself.
    expect(frames.event({ ...one })).not.toBe(frames.event(one));
  });

  test('packed parts are byte for byte the batch the codec encodes, split to stay within the frame limit, in order', () => {
    const parts = Array.from({ length: 40 }, (_, i) => frames.prepare(state(i)));
    const packed = frames.pack(parts);
    expect(packed.length).toBeGreaterThan(1);
    for (const frame of packed) expect(frame.bytes.byteLength).toBeLessThanOrEqual(1024);
    const decoded = packed.map((frame) => codec.decodeServerFrame(frame.bytes));
    const topics = decoded.flatMap((d) => (d.ok ? (d.frame.t === 'batch' ? d.frame.frames.map((f) => f.topic) : [d.frame.t === 'state' ? d.frame.topic : '']) : []));
    expect(topics).toEqual(parts.map((_, i) => `prices:S${i}`));
    const first = decoded[0]!;
    if (!first.ok || first.frame.t !== 'batch') throw new Error('expected a batch');
    expect(Buffer.compare(packed[0]!.bytes, Buffer.from(codec.encode({ t: 'batch', frames: first.frame.frames })))).toBe(0);
    expect(frames.pack([parts[0]!])).toEqual([parts[0]]);
  });

  test("a replay's events are packed like prepared ones: the same bytes, every event once, in order; one alone is framed", () => {
    const events = Array.from({ length: 40 }, (_, i) => event(i + 1));
    const packed = frames.packEvents(events);
    expect(packed.length).toBeGreaterThan(1);
    expect(packed.map((frame) => frame.bytes)).toEqual(frames.pack(events.map((e) => frames.prepare({ t: 'event', topic: e.topic, epoch: e.epoch, seq: e.seq, data: e.data, at: e.at }))).map((frame) => frame.bytes));
    const seqs = packed.flatMap((frame) => {
      const decoded = codec.decodeServerFrame(frame.bytes);
      if (!decoded.ok) throw new Error(decoded.message);
      const parts = decoded.frame.t === 'batch' ? decoded.frame.frames : [decoded.frame];
      return parts.map((f) => (f.t === 'event' ? f.seq : -1));
    });
    expect(seqs).toEqual(events.map((e) => e.seq));
    for (const frame of packed) expect(frame.wire).toBeDefined();
    const [alone] = frames.packEvents([event(1)]);
    expect(alone!.type).toBe('event');
    expect(alone!.wire).toBeDefined();
    expect(Buffer.compare(alone!.bytes, frames.event(event(1)).bytes)).toBe(0);
  });
});

describe('token expiry', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function countdown(horizonMs: number) {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const expired = vi.fn();
    const expiry = createTokenExpiry({ now: () => Date.now(), onExpired: expired, onError: (error) => { throw error; } }, horizonMs);
    return { expiry, expired };
  }

  test('an expiry beyond the horizon holds no timer; the check that finds it near sets one, which fires at the expiry', () => {
    const { expiry, expired } = countdown(30_000);
    expiry.set(Date.now() + 100_000);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(expiry.passed()).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(15_000);
    expect(expiry.passed()).toBe(false);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(25_000 - 1);
    expect(expired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(expired).toHaveBeenCalledOnce();
  });

  test('an expiry within the horizon sets its timer at once; a new token replaces it', () => {
    const { expiry, expired } = countdown(30_000);
    expiry.set(Date.now() + 10_000);
    expect(vi.getTimerCount()).toBe(1);
    expiry.set(Date.now() + 100_000);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(expired).not.toHaveBeenCalled();
    expect(expiry.passed()).toBe(false);
  });
});
