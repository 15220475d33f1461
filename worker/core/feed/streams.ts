/**
 * The hub's own `stream` subscriptions: `feed:<user>` (the user the server named in `welcome`) and
 * `news`, subscribed on every open `since` their stored cursors, asking for the newest `last`
 * events in case the server cannot replay. Views never subscribe to these; every view hears of the
 * feed through `FeedUpdate`s.
 *
 * This module owns the topics per connection (each open is a new generation with its own timers)
 * and routes the server's stream frames to them; each topic's subscription and recovery rules are
 * `./topic-stream.ts`, and the strict per-topic order `./stream-queue.ts`.
 */
import { streamTopicsOf } from '../../../lib/wire/topics';
import type { ClientFrame, FrameOf, ServerFrame } from '../../../lib/wire/protocol';
import type { BackoffOptions } from '../../../lib/backoff';
import type { StreamWork } from './stream-queue';
import type { FeedChange, FeedStore } from './store';
import type { StoredOrigin } from './stream-writer';
import { createTopicStream, type TopicStream } from './topic-stream';
import type { Clock, Logger, TimerHandle } from '../platform';
import { createScope, type Scope } from '../scope';

/** The server frames this module handles; the composition root routes them here. */
export type StreamFrame = FrameOf<ServerFrame, 'subscribed' | 'unsubscribed' | 'event' | 'batch' | 'error'>;

export interface StreamsOptions {
  /** Newest events to ask for when the server cannot replay from a cursor (or there is none). Default 50. */
  readonly last: number;
  /** Delays before subscribing again after storage failed. Default base 1 s, cap 30 s. */
  readonly retry: BackoffOptions;
}

/** How long after a write that filled the store's journal, with no other such write, it is settled. */
const SETTLE_WHEN_QUIET_MS = 1000;

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

export interface Streams {
  /** The connection opened for `user`: subscribe `feed:<user>` and `news` since their cursors. */
  open(user: string): void;
  /** The connection went away: pending subscriptions and retries end; queued writes still finish. */
  closed(): void;
  receive(frame: StreamFrame): void;
  /** The topics subscribed on the current connection. */
  topics(): string[];
  /** Resolves once every queue is empty and no write (nor settling of the store's journal) is in flight. */
  idle(): Promise<void>;
  /** Stops for good. */
  close(): void;
}

export function createStreams(deps: StreamsDeps): Streams {
  const { log, clock } = deps;
  const options: StreamsOptions = { ...DEFAULT_STREAMS_OPTIONS, ...deps.options };
  const streams = new Map<string, TopicStream>();
  let generation = 0;
  /** The open connection's topics and timers. */
  let current: { readonly generation: number; readonly topics: string[]; readonly scope: Scope } | null = null;
  let stopped = false;
  /** Moving journaled entries into the feed, once a large replay was stored; `null` when not. */
  let settling: Promise<void> | null = null;
  /** Runs `settle` once the streams were quiet for `SETTLE_WHEN_QUIET_MS`. */
  let settleTimer: TimerHandle | null = null;

  /**
   * A write went to the store's journal: move it into the feed once no other large write followed
   * for a moment. Doing it at once would hold the next write of the same replay behind it.
   */
  function settleSoon(): void {
    if (settleTimer !== null) clock.clearTimeout(settleTimer);
    settleTimer = clock.setTimeout(() => {
      settleTimer = null;
      void settle();
    }, SETTLE_WHEN_QUIET_MS);
  }

  function settle(): Promise<void> {
    settling ??= deps.store
      .settle()
      .catch((error: unknown) => log.warn('could not move journaled feed entries; the next read does', { error: String(error) }))
      .finally(() => {
        settling = null;
      });
    return settling;
  }

  function enqueue(topic: string, work: StreamWork): void {
    if (stopped) return;
    let stream = streams.get(topic);
    if (!stream) {
      if (work.k !== 'subscribe') return log.warn('ignored a frame for a stream the hub did not subscribe', { topic, frame: work.k });
      stream = createTopicStream({
        topic,
        store: deps.store,
        send: (frame) => deps.send(frame),
        clock,
        random: deps.random,
        log,
        options,
        link: () => current,
        onChange: (change, origin) => deps.onChange(change, origin),
        journaled: settleSoon,
      });
      streams.set(topic, stream);
    }
    stream.push(work);
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
        if (running.length === 0 && settleTimer !== null) {
          // Idle means settled: move the journal now rather than when the timer fires.
          clock.clearTimeout(settleTimer);
          settleTimer = null;
          void settle();
        }
        if (settling) running.push(settling);
        if (running.length === 0) return;
        await Promise.all(running);
      }
    },
    close() {
      closed();
      stopped = true;
      if (settleTimer !== null) clock.clearTimeout(settleTimer);
      settleTimer = null;
      for (const stream of streams.values()) stream.stop();
    },
  };
}
