/**
 * The `alerts:<user>` topic with fake timers: a quiet topic sends a change at once (in the same
 * turn, so before the change's ack); changes within `flushMs` of a send go out together at
 * `flushMs` (nothing at `flushMs - 1`), as the list is when it is sent; the last change's list
 * always follows; every subscriber of the user gets the same bytes; unsubscribing the last one and
 * stopping cancel what is pending; and the exact frame size that decides whether a list still fits.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { AlertsState, ServerAlert } from '../../lib/wire/alerts';
import { createCodec } from '../../lib/wire/codec';
import type { StateFrame } from '../../lib/wire/protocol';
import { MAX_TOPIC_LENGTH } from '../../lib/wire/topics';
import { createAlertsFrameFit } from '../../server/alerts/frame-fit';
import { createAlertsTopic, type AlertsTarget, type AlertsTopic } from '../../server/alerts/topic';
import { createServerFrames } from '../../server/clients/frames';
import type { PreparedFrame } from '../../server/transports/prepared-frame';
import { seededRandom } from '../support/random';

const FLUSH_MS = 50;
const codec = createCodec();

const alert = (id: number, note = ''): ServerAlert => ({
  id: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`,
  rule: { symbol: 'AAPL', condition: 'above', price: 100 + id, repeat: 'once', ...(note ? { note } : {}) },
  status: id % 2 === 0 ? 'active' : 'paused',
  createdAt: 1_700_000_000_000 + id,
  fireCount: 0,
});

interface FakeTarget extends AlertsTarget {
  readonly written: PreparedFrame[];
}
const fakeTarget = (): FakeTarget => {
  const written: PreparedFrame[] = [];
  return { written, sendPrepared: (frame) => void written.push(frame) };
};

/** How many alerts a list held. */
function countIn(frame: PreparedFrame): number {
  const decoded = codec.decodeServerFrame(frame.bytes);
  if (!decoded.ok || decoded.frame.t !== 'state') throw new Error('not a state frame');
  return ((decoded.frame as StateFrame).value as AlertsState).alerts.length;
}
const counts = (target: FakeTarget) => target.written.map(countIn);

let held: ServerAlert[];
let topic: AlertsTopic;
let errors: unknown[];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  held = [];
  errors = [];
  topic = createAlertsTopic({
    snapshot: () => ({ alerts: [...held] }),
    frames: createServerFrames(codec, 64 * 1024),
    now: () => Date.now(),
    clock: () => Date.now(),
    flushMs: FLUSH_MS,
    onDeliverError: (error) => errors.push(error),
  });
});

afterEach(() => {
  topic.stop();
  vi.useRealTimers();
});

/** Holds one more alert and publishes the change, as the service does after applying a message. */
function change(): void {
  held.push(alert(held.length));
  topic.publish('ann');
}

describe('alerts:<user> sends', () => {
  test('a quiet topic sends the change in the same turn, to every subscriber, the same bytes', () => {
    const [a, b] = [fakeTarget(), fakeTarget()];
    topic.subscribe('ann', a);
    topic.subscribe('ann', b);
    vi.advanceTimersByTime(FLUSH_MS);
    change();
    expect(counts(a)).toEqual([0, 1]);
    expect(b.written[1]).toBe(a.written[1]);
    expect(errors).toEqual([]);
  });

  test('changes within flushMs of a send go out together at flushMs, as the list is then', () => {
    const target = fakeTarget();
    topic.subscribe('ann', target);
    change();
    for (let i = 0; i < 20; i++) change();
    expect(counts(target)).toEqual([0, 1]);
    vi.advanceTimersByTime(FLUSH_MS - 1);
    expect(counts(target)).toEqual([0, 1]);
    held.push(alert(99)); // Changed after the last publish, before the send: the send shows it.
    vi.advanceTimersByTime(1);
    expect(counts(target)).toEqual([0, 1, 22]);
    vi.advanceTimersByTime(10 * FLUSH_MS);
    expect(counts(target)).toEqual([0, 1, 22]);
  });

  test('over a seeded random schedule, every burst ends with its last list, at most one per flushMs', () => {
    const random = seededRandom(11);
    const target = fakeTarget();
    topic.subscribe('ann', target);
    const sentAt: number[] = [];
    const send = target.sendPrepared;
    target.sendPrepared = (frame) => {
      sentAt.push(Date.now());
      send(frame);
    };
    for (let burst = 0; burst < 30; burst++) {
      for (let i = Math.floor(random() * 20); i > 0; i--) {
        change();
        vi.advanceTimersByTime(Math.floor(random() * 30));
      }
      vi.advanceTimersByTime(FLUSH_MS);
      expect(countIn(target.written.at(-1)!)).toBe(held.length);
    }
    for (let i = 1; i < sentAt.length; i++) expect(sentAt[i]! - sentAt[i - 1]!).toBeGreaterThanOrEqual(FLUSH_MS);
  });

  test('unsubscribing the last subscriber and stopping cancel a pending send', () => {
    const target = fakeTarget();
    topic.subscribe('ann', target);
    change();
    change();
    topic.unsubscribe('ann', target);
    vi.advanceTimersByTime(FLUSH_MS);
    expect(counts(target)).toEqual([0, 1]);
    expect(vi.getTimerCount()).toBe(0);

    const again = fakeTarget();
    topic.subscribe('ann', again);
    vi.advanceTimersByTime(FLUSH_MS);
    change();
    change();
    topic.stop();
    expect(vi.getTimerCount()).toBe(0);
    change();
    vi.advanceTimersByTime(FLUSH_MS);
    expect(counts(again)).toEqual([2, 3]);
  });

  test('flush sends what is pending now', () => {
    const target = fakeTarget();
    topic.subscribe('ann', target);
    change();
    change();
    topic.flush();
    expect(counts(target)).toEqual([0, 1, 2]);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('whether a list fits one frame', () => {
  test('the summed size is exactly the encoded frame on the longest topic, for any count and notes', () => {
    const fit = createAlertsFrameFit(codec, 64 * 1024);
    const random = seededRandom(7);
    const pool = Array.from({ length: 0x10001 }, (_, i) => alert(i, i % 3 === 0 ? 'n'.repeat(Math.floor(random() * 300)) : ''));
    for (const count of [0, 1, 15, 16, 17, 100, 0xffff, 0x10000, 0x10001]) {
      const state = { alerts: pool.slice(0, count) };
      const at = Math.floor(random() * 2 ** 42);
      const frame: StateFrame = { t: 'state', topic: 'x'.repeat(MAX_TOPIC_LENGTH) as StateFrame['topic'], value: state, at };
      expect(fit.bytes(state, at), `${count} alerts`).toBe(codec.encode(frame).byteLength);
    }
  });

  test('a list one byte over the limit does not fit; at the limit it does', () => {
    const state = { alerts: [alert(1, 'note'), alert(2)] };
    const bytes = createAlertsFrameFit(codec, 1).bytes(state, 5);
    expect(createAlertsFrameFit(codec, bytes).fits(state, 5)).toBe(true);
    expect(createAlertsFrameFit(codec, bytes - 1).fits(state, 5)).toBe(false);
  });
});
