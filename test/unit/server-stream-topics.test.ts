/**
 * The subscribe flow of stream topics with every interleaving made deterministic: a memory log, the
 * real stream fan-out, and a fake outbound whose socket "drains" only when the test says so. Live
 * events published while a replay waits are held and follow it with no gap and no duplicate; a log
 * trimmed or reset under a replay, or a live event that does not follow the last one sent, leads to
 * a new `subscribed` saying what happened; too many held events close the connection with 1013.
 * A subscribe to a held topic continues from what the connection was already sent (never sending
 * it again), a replay superseded or unsubscribed stops at once, and after an unsubscribe a
 * subscribe replays from the client's cursor as the hub's recovery needs.
 */
import { describe, expect, onTestFinished, test, vi } from 'vitest';
import { CloseCode } from '../../lib/wire/close-codes';
import type { NotificationData } from '../../lib/wire/notifications';
import type { FrameOf, ServerFrame } from '../../lib/wire/protocol';
import { createMemoryEventLog } from '../../server/event-log/memory';
import type { EventLog, EventLogOptions, StoredEvent } from '../../server/event-log/types';
import type { Outbound } from '../../server/clients/outbound';
import { createStreamFanout } from '../../server/streams/fanout';
import { createStreamTopics, MAX_HELD_EVENTS, REPLAY_CHUNK_EVENTS, type StreamTopics } from '../../server/streams/topics';

type Sent = { kind: 'frame'; frame: ServerFrame } | { kind: 'events'; events: StoredEvent[] };

const note = (n: number): NotificationData => ({ title: `n${n}`, body: '', level: 'info' });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function setup(options: { log?: EventLogOptions; buffered?: number; wire?: boolean } = {}) {
  const log: EventLog = createMemoryEventLog(options.log);
  const fanout = createStreamFanout({
    onDeliverError: (error) => {
      throw error;
    },
  });
  /** Whether appends reach the fan-out (a test can cut the wire to lose one). */
  const wire = { on: options.wire ?? true };
  log.watch((change) => wire.on && fanout.dispatch(change));
  const sent: Sent[] = [];
  let buffered = options.buffered ?? 0;
  const pendingWrites: Array<() => void> = [];
  const drops: Array<{ code: number; reason: string; refusal?: string }> = [];
  let open = true;
  const out: Outbound = {
    isOpen: () => open,
    send: (frame) => void sent.push({ kind: 'frame', frame }),
    sendPrepared: () => undefined,
    sendEvent: (event) => void sent.push({ kind: 'events', events: [event] }),
    sendEvents(events) {
      sent.push({ kind: 'events', events: [...events] });
      return new Promise((resolve) => pendingWrites.push(resolve));
    },
    bufferedAmount: () => buffered,
  };
  const streams: StreamTopics = createStreamTopics({
    log,
    fanout,
    out,
    metrics: {
      streamSubscribed: () => undefined,
      subscriptionRefused: () => undefined,
      eventsReplayed: () => undefined,
      eventsDelivered: () => undefined,
      streamReplayed: () => undefined,
    },
    limits: { maxBufferedBytes: 1000, drainTimeoutMs: 60_000 },
    drop: (code, reason, refusal) => {
      drops.push({ code, reason, ...(refusal ? { refusal } : {}) });
      open = false;
      streams.clear();
    },
    onError: (error) => {
      throw error;
    },
  });
  return {
    log,
    streams,
    sent,
    drops,
    wire,
    setBuffered: (n: number) => void (buffered = n),
    /** The socket writes everything so far. */
    drain: () => pendingWrites.splice(0).forEach((resolve) => resolve()),
    events: (topic: string) => sent.flatMap((s) => (s.kind === 'events' ? s.events.filter((e) => e.topic === topic) : [])),
    subscribed: (topic: string) =>
      sent.flatMap((s) => (s.kind === 'frame' && s.frame.t === 'subscribed' && s.frame.topic === topic ? [s.frame] : [])) as FrameOf<ServerFrame, 'subscribed'>[],
    frames: () => sent.flatMap((s) => (s.kind === 'frame' ? [s.frame] : [])),
  };
}

async function fill(log: EventLog, topic: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await log.append(topic, note(i));
}

/** 2,500 news events and a subscribe from the start whose replay sent its first chunk and now waits for the socket. */
async function replayWaitingForSocket() {
  const t = setup({ buffered: 5_000, log: { retention: { maxEvents: 100_000 } } });
  await fill(t.log, 'news', 2_500);
  const { epoch } = await t.log.head('news');
  t.streams.subscribe('news', { epoch, seq: 0 }, 0);
  await vi.waitFor(() => expect(t.events('news')).toHaveLength(REPLAY_CHUNK_EVENTS));
  return { t, epoch };
}

describe('stream subscriptions', () => {
  test('events appended while the replay waits for the socket are held and follow it: no gap, no duplicate', async () => {
    const { t, epoch } = await replayWaitingForSocket();
    expect(t.subscribed('news')).toEqual([{ t: 'subscribed', topic: 'news', mode: 'stream', recovery: 'recovered', position: { epoch, seq: 2_500 }, from: 1 }]);
    expect(t.events('news').map((e) => e.seq)).toEqual(range(1, REPLAY_CHUNK_EVENTS));
    // The replay now waits for the socket; live events arrive meanwhile.
    await fill(t.log, 'news', 10);
    expect(t.events('news')).toHaveLength(REPLAY_CHUNK_EVENTS);
    // Each write the socket finishes lets the next chunk go (1001..2000, 2001..2500), then the held ones.
    for (const through of [2_000, 2_500, 2_510]) {
      t.drain();
      await vi.waitFor(() => expect(t.events('news').at(-1)?.seq).toBe(through));
    }
    expect(t.events('news').map((e) => e.seq)).toEqual(range(1, 2_510));
    await fill(t.log, 'news', 2);
    expect(t.events('news').map((e) => e.seq)).toEqual(range(1, 2_512));
  });

  test('a log trimmed past the replay position while it waits leads to a new subscribed: trimmed', async () => {
    const t = setup({ buffered: 5_000, log: { retention: { maxEvents: 2_500 } } });
    await fill(t.log, 'news', 2_500);
    const { epoch } = await t.log.head('news');
    t.streams.subscribe('news', { epoch, seq: 0 }, 3);
    await vi.waitFor(() => expect(t.events('news')).toHaveLength(REPLAY_CHUNK_EVENTS));
    await fill(t.log, 'news', 1_600); // the log now holds 1601..4100; 1001..1600 are gone
    t.drain();
    await vi.waitFor(() => expect(t.subscribed('news').map((s) => s.recovery)).toEqual(['recovered', 'trimmed']));
    const announced = t.subscribed('news');
    expect(announced.map((s) => s.recovery)).toEqual(['recovered', 'trimmed']);
    expect(announced[1]).toMatchObject({ position: { epoch, seq: 4_100 }, from: 4_098 });
    t.drain();
    await vi.waitFor(() => expect(t.events('news').map((e) => e.seq)).toEqual([...range(1, 1_000), 4_098, 4_099, 4_100]));
  });

  test('a reset during the replay restarts it as epoch changed; the old epoch stops at once', async () => {
    const t = setup({ buffered: 5_000 });
    await fill(t.log, 'news', 1_500);
    const { epoch } = await t.log.head('news');
    t.streams.subscribe('news', { epoch, seq: 0 }, 10);
    await vi.waitFor(() => expect(t.events('news')).toHaveLength(REPLAY_CHUNK_EVENTS));
    const { epoch: next } = await t.log.reset('news');
    await t.log.append('news', note(1));
    t.drain();
    await vi.waitFor(() => expect(t.events('news').at(-1)?.epoch).toBe(next));
    expect(t.subscribed('news').map((s) => [s.recovery, s.position])).toEqual([
      ['recovered', { epoch, seq: 1_500 }],
      ['epoch changed', { epoch: next, seq: 0 }],
    ]);
    expect(t.events('news').map((e) => `${e.epoch === epoch ? 'old' : 'new'}:${e.seq}`)).toEqual([...range(1, 1_000).map((n) => `old:${n}`), 'new:1']);
  });

  test('a live event that skips one starts over from the last sent: the missing one is replayed', async () => {
    const t = setup();
    await fill(t.log, 'news', 3);
    t.streams.subscribe('news', undefined, 0);
    await vi.waitFor(() => expect(t.subscribed('news')).toHaveLength(1));
    t.wire.on = false;
    await t.log.append('news', note(4)); // never reaches the fan-out
    t.wire.on = true;
    await t.log.append('news', note(5));
    await vi.waitFor(() => expect(t.events('news')).toHaveLength(2));
    expect(t.subscribed('news').map((s) => s.recovery)).toEqual(['fresh', 'recovered']);
    expect(t.subscribed('news')[1]).toMatchObject({ position: { seq: 5 }, from: 4 });
    expect(t.events('news').map((e) => e.seq)).toEqual([4, 5]);
  });

  test('a future cursor is refused with invalid and leaves nothing subscribed', async () => {
    const t = setup();
    await fill(t.log, 'news', 2);
    const { epoch } = await t.log.head('news');
    t.streams.subscribe('news', { epoch, seq: 3 }, 0);
    await vi.waitFor(() => expect(t.frames()).toEqual([{ t: 'error', code: 'invalid', topic: 'news', message: expect.stringMatching(/ahead/) }]));
    expect(t.streams.has('news')).toBe(false);
    await t.log.append('news', note(3));
    expect(t.events('news')).toEqual([]);
  });

  test('unsubscribing mid-replay sends nothing more of the topic', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const t = setup({ buffered: 5_000 });
    await fill(t.log, 'news', 2_000);
    const { epoch } = await t.log.head('news');
    t.streams.subscribe('news', { epoch, seq: 0 }, 0);
    await vi.waitFor(() => expect(t.events('news')).toHaveLength(REPLAY_CHUNK_EVENTS));
    expect(t.streams.unsubscribe('news')).toBe(true);
    await t.log.append('news', note(0));
    t.drain();
    // Every timer and promise callback there is has run: the replay had its chance to go on.
    await vi.runAllTimersAsync();
    expect(t.events('news')).toHaveLength(REPLAY_CHUNK_EVENTS);
    expect(t.streams.size).toBe(0);
  });

  test('more than MAX_HELD_EVENTS live events during one replay close the connection with 1013', async () => {
    const t = setup({ buffered: 5_000, log: { retention: { maxEvents: 100_000 } } });
    await fill(t.log, 'news', 1_500);
    const { epoch } = await t.log.head('news');
    t.streams.subscribe('news', { epoch, seq: 0 }, 0);
    await vi.waitFor(() => expect(t.events('news')).toHaveLength(REPLAY_CHUNK_EVENTS));
    await fill(t.log, 'news', MAX_HELD_EVENTS + 1);
    expect(t.drops).toEqual([{ code: CloseCode.tryAgainLater, reason: 'client too slow for its stream events', refusal: 'slow-consumer' }]);
  });
});

describe('subscribing again to a held stream topic', () => {
  /** Fake timers that leave promises real: a replay waiting for the socket holds its drain timer. */
  function fakeTimers(): void {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
  }

  test('while live, it answers subscribed where the connection is and sends nothing again, however it asks', async () => {
    const t = setup();
    await fill(t.log, 'news', 500);
    t.streams.subscribe('news', undefined, 500);
    await vi.waitFor(() => expect(t.events('news')).toHaveLength(500));
    const { epoch } = await t.log.head('news');
    for (const ask of [{ since: undefined, last: 500 }, { since: { epoch, seq: 0 }, last: 0 }, { since: { epoch: 'OLD', seq: 3 }, last: 500 }]) {
      t.streams.subscribe('news', ask.since, ask.last);
    }
    await vi.waitFor(() => expect(t.subscribed('news')).toHaveLength(2));
    // Three asks in one go: the last one answers, from where the connection is.
    expect(t.subscribed('news')[1]).toEqual({ t: 'subscribed', topic: 'news', mode: 'stream', recovery: 'recovered', position: { epoch, seq: 500 } });
    await t.log.append('news', note(501));
    expect(t.events('news').map((e) => e.seq)).toEqual(range(1, 501));
  });

  test('mid-replay, the replay stops at once and the new one goes on from the last event sent', async () => {
    fakeTimers();
    const { t, epoch } = await replayWaitingForSocket();
    // The replay waits for the socket: one drain timer.
    expect(vi.getTimerCount()).toBe(1);
    t.streams.subscribe('news', { epoch, seq: 0 }, 0);
    await vi.waitFor(() => expect(t.subscribed('news')).toHaveLength(2));
    expect(t.subscribed('news')[1]).toMatchObject({ recovery: 'recovered', position: { epoch, seq: 2_500 }, from: REPLAY_CHUNK_EVENTS + 1 });
    // The first replay stopped (its timer is gone); only the new one waits.
    await vi.waitFor(() => expect(vi.getTimerCount()).toBe(1));
    for (let i = 0; i < 3; i++) {
      t.drain();
      await vi.advanceTimersByTimeAsync(0);
    }
    await vi.waitFor(() => expect(t.events('news').at(-1)?.seq).toBe(2_500));
    expect(t.events('news').map((e) => e.seq)).toEqual(range(1, 2_500));
  });

  test('an unsubscribe stops a replay waiting for the socket at once', async () => {
    fakeTimers();
    const t = setup({ buffered: 5_000 });
    await fill(t.log, 'news', 2_000);
    t.streams.subscribe('news', undefined, 2_000);
    await vi.waitFor(() => expect(vi.getTimerCount()).toBe(1));
    t.streams.unsubscribe('news');
    await vi.waitFor(() => expect(vi.getTimerCount()).toBe(0));
    expect(t.drops).toEqual([]);
  });

  test('a cursor ahead of what was sent (a newer one) skips what the client has', async () => {
    const { t, epoch } = await replayWaitingForSocket();
    t.streams.subscribe('news', { epoch, seq: 2_000 }, 0);
    await vi.waitFor(() => expect(t.subscribed('news')).toHaveLength(2));
    expect(t.subscribed('news')[1]).toMatchObject({ recovery: 'recovered', from: 2_001 });
    t.drain();
    await vi.waitFor(() => expect(t.events('news').at(-1)?.seq).toBe(2_500));
    expect(t.events('news').map((e) => e.seq)).toEqual([...range(1, REPLAY_CHUNK_EVENTS), ...range(2_001, 2_500)]);
  });

  test('after an unsubscribe, a subscribe replays from the cursor: the hub re-subscribes that way to recover', async () => {
    const t = setup();
    await fill(t.log, 'news', 10);
    const { epoch } = await t.log.head('news');
    t.streams.subscribe('news', { epoch, seq: 0 }, 0);
    await vi.waitFor(() => expect(t.events('news')).toHaveLength(10));
    t.streams.unsubscribe('news');
    t.streams.subscribe('news', { epoch, seq: 4 }, 0);
    await vi.waitFor(() => expect(t.events('news')).toHaveLength(16));
    expect(t.subscribed('news')[1]).toMatchObject({ recovery: 'recovered', from: 5 });
    expect(t.events('news').slice(10).map((e) => e.seq)).toEqual(range(5, 10));
  });
});
