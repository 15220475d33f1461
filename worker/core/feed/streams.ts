/**
 * The hub's own `stream` subscriptions: `feed:<user>` (the user the server named in `welcome`) and
 * `news`, subscribed on every open `since` their stored cursors, asking for the newest `last`
 * events in case the server cannot replay. Views never subscribe to these; every view hears of the
 * feed through `FeedUpdate`s.
 *
 * Per topic, all work (subscribing, the server's answer, events) goes through one queue processed
 * strictly in arrival order: a frame that arrives while a write is in flight waits its turn, and
 * the events that queued up meanwhile are written together in the next transaction. A change goes
 * out (`onChange`) only after its transaction committed.
 *
 * Recovery rules (lib/wire/protocol.ts, the shared decisions of issue 3): the server answers
 * `subscribed {recovery, position, from?}` first; the start it describes is applied in the
 * transaction of the first events that follow (at once when none follow), so a gap marker lands
 * just before them; the server may start a live subscription over the same way when its log moves.
 * A refused cursor (`error invalid`) is resynchronised without `since`; an event of another epoch
 * under a live subscription, or the server ending one, subscribes again.
 * When storage fails the topic stops taking events and subscribes again after a backoff delay:
 * the server still holds them, so nothing is lost.
 */
import { streamTopicsOf } from '../../../lib/wire/topics';
import type { ClientFrame, EventFrame, FrameOf, ServerFrame } from '../../../lib/wire/protocol';
import { backoffDelay, type BackoffOptions } from '../../../lib/backoff';
import type { StreamStart } from './cursor';
import type { AppendResult, FeedChange, FeedStore } from './store';
import type { Clock, Logger } from '../platform';
import { createScope, type Scope } from '../scope';

/** The server frames this module handles; the composition root routes them here. */
export type StreamFrame = FrameOf<ServerFrame, 'subscribed' | 'unsubscribed' | 'event' | 'batch' | 'error'>;

export interface StreamsOptions {
  /** Newest events to ask for when the server cannot replay from a cursor (or there is none). Default 50. */
  readonly last: number;
  /** Delays before subscribing again after storage failed. Default base 1 s, cap 30 s. */
  readonly retry: BackoffOptions;
}

export const DEFAULT_STREAMS_OPTIONS: Readonly<StreamsOptions> = {
  last: 50,
  retry: { baseMs: 1000, capMs: 30_000 },
};

export interface StreamsDeps {
  readonly store: FeedStore;
  /** Sends a frame if the connection is open; returns `false` otherwise. */
  send(frame: ClientFrame): boolean;
  readonly clock: Clock;
  readonly random: () => number;
  readonly log: Logger;
  /** A committed change to the feed (possibly empty), and how its events reached the hub. */
  onChange(change: FeedChange, origin: StoredOrigin): void;
  readonly options?: Readonly<Partial<StreamsOptions>>;
}

/**
 * Which of a change's events are live and which replay what the server already held when the hub
 * subscribed (the log's head then): after a disconnect or a restart, those are what the user
 * missed while away.
 */
export interface StoredOrigin {
  readonly topic: string;
  /** Events of this epoch with `seq` at or below `until` were replayed; `null`: every event is live. */
  readonly replay: { readonly epoch: string; readonly until: number } | null;
  /** The hub had no cursor for the topic (a first start): what was replayed is history, not missed. */
  readonly history: boolean;
  /** The replay is complete with this change (or there was none). */
  readonly replayDone: boolean;
}

export interface Streams {
  /** The connection opened for `user`: subscribe `feed:<user>` and `news` since their cursors. */
  open(user: string): void;
  /** The connection went away: pending subscriptions and retries end; queued writes still finish. */
  closed(): void;
  receive(frame: StreamFrame): void;
  /** The topics subscribed on the current connection. */
  topics(): string[];
  /** Resolves once every queue is empty and no write is in flight. */
  idle(): Promise<void>;
  /** Stops for good. */
  close(): void;
}

type Phase =
  /** Not subscribed: events are dropped (the server replays them on the next subscribe). */
  | { readonly p: 'idle' }
  /** `subscribe` sent on connection `generation`; events wait for `subscribed`. */
  | { readonly p: 'subscribing'; readonly generation: number; readonly cursorRefused: boolean }
  /** Events are stored. */
  | { readonly p: 'live'; readonly generation: number }
  /** Storage failed: events are dropped until a retry subscribes again. */
  | { readonly p: 'failed' };

type Work =
  | { readonly k: 'subscribe'; readonly generation: number; readonly withoutCursor: boolean }
  | { readonly k: 'subscribed'; readonly frame: FrameOf<ServerFrame, 'subscribed'> }
  | { readonly k: 'unsubscribed'; readonly frame: FrameOf<ServerFrame, 'unsubscribed'> }
  | { readonly k: 'refused'; readonly frame: FrameOf<ServerFrame, 'error'> }
  | { readonly k: 'event'; readonly frame: EventFrame };

interface TopicStream {
  readonly topic: string;
  readonly queue: Work[];
  phase: Phase;
  /** The start `subscribed` announced, applied in the transaction of the first events that follow. */
  start: StreamStart | null;
  /** Consecutive storage failures, for the retry delay. */
  failures: number;
  /** Whether a cursor was stored when the current subscription was asked for. */
  hadCursor: boolean;
  /** The head of the log when the current subscription started, until the replay reached it. */
  replay: { readonly epoch: string; readonly until: number } | null;
  /** The queue's run in progress. */
  running: Promise<void> | null;
}

/** Error codes after which subscribing again later may work. */
const TRANSIENT: ReadonlySet<string> = new Set(['internal', 'rate-limited', 'not-ready']);

export function createStreams(deps: StreamsDeps): Streams {
  const { store, log, clock } = deps;
  const options: StreamsOptions = { ...DEFAULT_STREAMS_OPTIONS, ...deps.options };
  const streams = new Map<string, TopicStream>();
  let generation = 0;
  /** The open connection's topics and timers. */
  let current: { readonly generation: number; readonly topics: string[]; readonly scope: Scope } | null = null;
  let stopped = false;

  const isCurrent = (phase: Phase): boolean =>
    (phase.p === 'live' || phase.p === 'subscribing') && phase.generation === current?.generation;

  function enqueue(topic: string, work: Work): void {
    if (stopped) return;
    let stream = streams.get(topic);
    if (!stream) {
      if (work.k !== 'subscribe') return log.warn('ignored a frame for a stream the hub did not subscribe', { topic, frame: work.k });
      stream = { topic, queue: [], phase: { p: 'idle' }, start: null, failures: 0, hadCursor: false, replay: null, running: null };
      streams.set(topic, stream);
    }
    stream.queue.push(work);
    if (!stream.running) stream.running = run(stream);
  }

  async function run(stream: TopicStream): Promise<void> {
    // Start after the caller's turn, so `running` is set before the loop can end.
    await null;
    while (stream.queue.length > 0 && !stopped) await step(stream, stream.queue.shift()!);
    // Synchronous with the last look at the queue: nothing can slip in between.
    stream.running = null;
  }

  async function step(stream: TopicStream, work: Work): Promise<void> {
    try {
      switch (work.k) {
        case 'event':
          return await storeEvents(stream, takeEvents(stream, work.frame));
        case 'subscribe':
          return await subscribe(stream, work.generation, work.withoutCursor);
        case 'subscribed':
          return await started(stream, work.frame);
        case 'unsubscribed':
          return endedByServer(stream, work.frame);
        case 'refused':
          return await refused(stream, work.frame);
      }
    } catch (error) {
      failed(stream, error);
    }
  }

  /** The event and every event queued right behind it: one transaction for all of them. */
  function takeEvents(stream: TopicStream, first: EventFrame): EventFrame[] {
    const events = [first];
    for (let next = stream.queue[0]; next?.k === 'event'; next = stream.queue[0]) {
      events.push(next.frame);
      stream.queue.shift();
    }
    return events;
  }

  async function subscribe(stream: TopicStream, forGeneration: number, withoutCursor: boolean): Promise<void> {
    // Meant for a connection that is gone, or already done on this one (a retry after a reopen).
    if (current?.generation !== forGeneration || isCurrent(stream.phase)) return;
    stream.start = null;
    // Read after every earlier write of this topic committed: the queue guarantees it.
    const since = withoutCursor ? null : await store.cursor(stream.topic);
    if (current?.generation !== forGeneration) return;
    // Without a cursor because the server refused it: there was one.
    stream.hadCursor = withoutCursor || since !== null;
    const sent = deps.send({ t: 'subscribe', topic: stream.topic, last: options.last, ...(since ? { since } : {}) });
    stream.phase = sent ? { p: 'subscribing', generation: forGeneration, cursorRefused: withoutCursor } : { p: 'idle' };
  }

  async function started(stream: TopicStream, frame: FrameOf<ServerFrame, 'subscribed'>): Promise<void> {
    const phase = stream.phase;
    // While live, a new `subscribed` is the server starting the subscription over because the log
    // moved under it (reset, trimmed during the replay): it says what happened, like any start.
    if ((phase.p !== 'subscribing' && phase.p !== 'live') || !isCurrent(phase)) {
      return log.warn('ignored an unexpected subscribed', { topic: stream.topic, phase: phase.p });
    }
    const cursorRefused = phase.p === 'subscribing' && phase.cursorRefused;
    if (frame.mode !== 'stream' || !frame.position) {
      throw new Error(`the server answered a stream subscription with mode ${frame.mode} and no position`);
    }
    const { position } = frame;
    log.info('stream subscribed', { topic: stream.topic, recovery: frame.recovery, position, from: frame.from });
    stream.phase = { p: 'live', generation: phase.generation };
    stream.start = { epoch: position.epoch, next: frame.from ?? position.seq + 1, cursorRefused };
    stream.replay = { epoch: position.epoch, until: position.seq };
    // Nothing follows: apply the start (cursor, gap marker) now.
    if (frame.from === undefined) await storeEvents(stream, []);
  }

  async function storeEvents(stream: TopicStream, events: readonly EventFrame[]): Promise<void> {
    if (stream.phase.p !== 'live') {
      // Events of a subscription being replaced; the server sends them again after the cursor.
      if (events.length > 0) log.info('dropped stream events while not subscribed', { topic: stream.topic, count: events.length });
      return;
    }
    const start = stream.start;
    stream.start = null;
    const result = await store.append(stream.topic, start, events, clock.now());
    stream.failures = 0;
    report(stream.topic, result);
    const replay = stream.replay;
    const cursor = result.cursor;
    const replayDone = !replay || !cursor || cursor.epoch !== replay.epoch || cursor.seq >= replay.until;
    if (replayDone) stream.replay = null;
    deps.onChange(result, { topic: stream.topic, replay, history: !stream.hadCursor, replayDone });
    if (result.otherEpoch > 0 && isCurrent(stream.phase)) {
      // The server reset the log under a live subscription: ask again since the cursor, and the
      // answer (`epoch changed`) resynchronises.
      resubscribe(stream, 'an event of another epoch arrived');
    }
  }

  function report(topic: string, result: AppendResult): void {
    if (result.jumps > 0) log.warn('the server skipped events; gap marker stored', { topic, jumps: result.jumps });
    if (result.invalid > 0) log.warn('stream events that are not notifications were skipped', { topic, count: result.invalid });
    if (result.early > 0) log.warn('stream events before the subscription started were dropped', { topic, count: result.early });
    if (result.otherEpoch > 0) log.warn('stream events of another epoch were dropped', { topic, count: result.otherEpoch });
  }

  function resubscribe(stream: TopicStream, reason: string): void {
    if (!current) return;
    log.info('subscribing to a stream again', { topic: stream.topic, reason });
    deps.send({ t: 'unsubscribe', topic: stream.topic });
    stream.phase = { p: 'idle' };
    stream.start = null;
    enqueue(stream.topic, { k: 'subscribe', generation: current.generation, withoutCursor: false });
  }

  /** Subscribes again after a backoff delay on the current connection (or at the next open). */
  function retryLater(stream: TopicStream): void {
    stream.failures++;
    stream.start = null;
    if (!current) return;
    const forGeneration = current.generation;
    const delay = backoffDelay(stream.failures - 1, options.retry, deps.random);
    current.scope.after(delay, () => enqueue(stream.topic, { k: 'subscribe', generation: forGeneration, withoutCursor: false }));
  }

  function failed(stream: TopicStream, error: unknown): void {
    log.warn('a stream failed; it subscribes again later', {
      topic: stream.topic,
      error: error instanceof Error ? error.message : String(error),
      failures: stream.failures + 1,
    });
    // Stop the flow we cannot store; the server keeps the events for the next subscribe.
    if (isCurrent(stream.phase)) deps.send({ t: 'unsubscribe', topic: stream.topic });
    stream.phase = { p: 'failed' };
    retryLater(stream);
  }

  function endedByServer(stream: TopicStream, frame: FrameOf<ServerFrame, 'unsubscribed'>): void {
    log.info('server ended a stream subscription', { topic: stream.topic, reason: frame.reason });
    // Answers to our own `unsubscribe` arrive while the topic is no longer live.
    if (stream.phase.p !== 'live' || !isCurrent(stream.phase)) return;
    stream.phase = { p: 'idle' };
    retryLater(stream);
  }

  async function refused(stream: TopicStream, frame: FrameOf<ServerFrame, 'error'>): Promise<void> {
    const phase = stream.phase;
    log.warn('server refused a stream topic', { topic: stream.topic, code: frame.code, message: frame.message });
    if (phase.p !== 'subscribing' || !isCurrent(phase)) return;
    stream.phase = { p: 'idle' };
    if (frame.code === 'invalid' && !phase.cursorRefused) {
      // A cursor the server cannot place (from the future): resynchronise without it; the start
      // that follows records an `epoch changed` gap and replaces the cursor.
      return subscribe(stream, phase.generation, true);
    }
    if (TRANSIENT.has(frame.code)) retryLater(stream);
  }

  function closed(): void {
    current?.scope.dispose();
    current = null;
  }

  return {
    open(user) {
      closed();
      if (stopped) return;
      generation++;
      const topics = streamTopicsOf(user);
      current = { generation, topics, scope: createScope(clock) };
      for (const topic of topics) enqueue(topic, { k: 'subscribe', generation, withoutCursor: false });
    },
    closed,
    receive(frame) {
      switch (frame.t) {
        case 'event':
          return enqueue(frame.topic, { k: 'event', frame });
        case 'batch':
          for (const inner of frame.frames) if (inner.t === 'event') enqueue(inner.topic, { k: 'event', frame: inner });
          return;
        case 'subscribed':
          return enqueue(frame.topic, { k: 'subscribed', frame });
        case 'unsubscribed':
          return enqueue(frame.topic, { k: 'unsubscribed', frame });
        case 'error':
          if (frame.topic !== undefined) enqueue(frame.topic, { k: 'refused', frame });
          return;
      }
    },
    topics: () => [...(current?.topics ?? [])],
    async idle() {
      for (;;) {
        const running = [...streams.values()].flatMap((stream) => (stream.running ? [stream.running] : []));
        if (running.length === 0) return;
        await Promise.all(running);
      }
    },
    close() {
      closed();
      stopped = true;
      for (const stream of streams.values()) stream.queue.length = 0;
    },
  };
}
