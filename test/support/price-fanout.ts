/**
 * The tick fan-out under fake timers, for the fan-out's unit tests: fake targets that record the
 * frames written to them and report how far behind they are, and a fan-out per test (call
 * `useFanoutHarness()` once in the file) whose prepared frames and delivery errors are counted.
 * `fanout`, `errors` and `prepared` are live bindings, set afresh before each test.
 */
import { afterEach, beforeEach, vi } from 'vitest';
import { createCodec } from '../../lib/wire/codec';
import type { PriceTick } from '../../lib/wire/prices';
import type { ServerFrame, StateFrame } from '../../lib/wire/protocol';
import { createServerFrames } from '../../server/clients/frames';
import { createPriceFanout, type FanoutTarget, type PriceFanout } from '../../server/prices/fanout';
import type { PreparedFrame } from '../../server/transports/prepared-frame';

export const FLUSH_MS = 50;
export const MAX_BUFFERED = 1000;
const codec = createCodec();

export interface FakeTarget extends FanoutTarget {
  buffered: number;
  /** Every frame written, as the bytes handed over. */
  readonly written: PreparedFrame[];
}

export function fakeTarget(): FakeTarget {
  const target: FakeTarget = {
    buffered: 0,
    written: [],
    bufferedAmount: () => target.buffered,
    sendPrepared: (frame) => void target.written.push(frame),
  };
  return target;
}

/** The state frames in one written frame. */
export function statesIn(frame: PreparedFrame): StateFrame[] {
  const decoded = codec.decodeServerFrame(frame.bytes);
  if (!decoded.ok) throw new Error(decoded.message);
  const value: ServerFrame = decoded.frame;
  if (value.t === 'state') return [value];
  if (value.t === 'batch') return value.frames.filter((f): f is StateFrame => f.t === 'state');
  throw new Error(`unexpected ${value.t}`);
}

/** Each written frame as `topic=price` strings. */
export const deliveries = (target: FakeTarget) => target.written.map((frame) => statesIn(frame).map((s) => `${s.topic}=${(s.value as PriceTick).price}`));

let at = 1000;
export const tick = (symbol: string, price: number): PriceTick => ({ symbol, price, prev: price, at: at++ });

export let fanout: PriceFanout;
export let errors: unknown[];
export let prepared: number;

export function useFanoutHarness(): void {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'] });
    errors = [];
    prepared = 0;
    const frames = createServerFrames(codec, 64 * 1024);
    fanout = createPriceFanout({
      flushMs: FLUSH_MS,
      maxBufferedBytes: MAX_BUFFERED,
      frames: {
        prepare: (frame) => {
          prepared += 1;
          return frames.prepare(frame);
        },
        pack: frames.pack,
      },
      onDeliverError: (_t, e) => errors.push(e),
      clock: () => Date.now(),
    });
  });
  afterEach(() => {
    fanout.stop();
    vi.useRealTimers();
  });
}

/** Runs what is due now (the fan-out's next turn), without moving the clock. */
export const nextTurn = () => vi.advanceTimersByTime(0);
