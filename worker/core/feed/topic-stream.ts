/**
 * One of the hub's own `stream` topics: where its subscription stands, and the recovery rules
 * applied to the server's answers and to the events that follow, one step at a time in the order
 * of its queue (`./stream-queue.ts`). A change goes out (`onChange`) only after its transaction
 * committed.
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
import type { ClientFrame, EventFrame, FrameOf, ServerFrame } from '../../../lib/wire/protocol';
import { backoffDelay, type BackoffOptions } from '../../../lib/backoff';
import { createStreamQueue, type StreamQueue, type StreamStep } from './stream-queue';
import { createStreamWriter, type StoredOrigin } from './stream-writer';
import type { FeedChange, FeedStore } from './store';
import type { Clock, Logger } from '../platform';
import type { Scope } from '../scope';

/** The open connection as a topic stream sees it: its number and its timers. */
export interface StreamLink {
  readonly generation: number;
  readonly scope: Scope;
}

export interface TopicStreamDeps {
  readonly topic: string;
  readonly store: FeedStore;
  /** Sends a frame if the connection is open; returns `false` otherwise. */
  send(frame: ClientFrame): boolean;
  readonly clock: Clock;
  readonly random: () => number;
  readonly log: Logger;
  readonly options: { readonly last: number; readonly retry: BackoffOptions };
  /** The open connection; `null` while there is none. */
  link(): StreamLink | null;
  /** A committed change to the feed (possibly empty), and how its events reached the hub. */
  onChange(change: FeedChange, origin: StoredOrigin): void;
  /** A write went to the store's journal (a large replay): it is to be settled once quiet. */
  journaled(): void;
}

/** A topic stream is driven through its queue: work pushed there is handled in order. */
export type TopicStream = StreamQueue;

type Phase =
  /** Not subscribed: events are dropped (the server replays them on the next subscribe). */
  | { readonly p: 'idle' }
  /** `subscribe` sent on connection `generation`; events wait for `subscribed`. */
  | { readonly p: 'subscribing'; readonly generation: number; readonly cursorRefused: boolean }
  /** Events are stored. */
  | { readonly p: 'live'; readonly generation: number }
  /** Storage failed: events are dropped until a retry subscribes again. */
  | { readonly p: 'failed' };

/** Error codes after which subscribing again later may work. */
const TRANSIENT: ReadonlySet<string> = new Set(['internal', 'rate-limited', 'not-ready']);

export function createTopicStream(deps: TopicStreamDeps): TopicStream {
  const { topic, log, options } = deps;
  let phase: Phase = { p: 'idle' };
  /** Consecutive storage failures, for the retry delay. */
  let failures = 0;
  const writer = createStreamWriter({ topic, store: deps.store, clock: deps.clock, log });
  const queue = createStreamQueue(step);

  const isCurrent = (of: Phase): boolean => (of.p === 'live' || of.p === 'subscribing') && of.generation === deps.link()?.generation;

  async function step(work: StreamStep): Promise<void> {
    try {
      switch (work.k) {
        case 'events':
          return await storeEvents(work.frames);
        case 'subscribe':
          return await subscribe(work.generation, work.withoutCursor);
        case 'subscribed':
          return await started(work.frame);
        case 'unsubscribed':
          return endedByServer(work.frame);
        case 'refused':
          return await refused(work.frame);
      }
    } catch (error) {
      failed(error);
    }
  }

  async function subscribe(forGeneration: number, withoutCursor: boolean): Promise<void> {
    // Meant for a connection that is gone, or already done on this one (a retry after a reopen).
    if (deps.link()?.generation !== forGeneration || isCurrent(phase)) return;
    writer.forget();
    // Read after every earlier write of this topic committed: the queue guarantees it.
    const since = withoutCursor ? null : await deps.store.cursor(topic);
    if (deps.link()?.generation !== forGeneration) return;
    // Without a cursor because the server refused it: there was one.
    writer.asked(withoutCursor || since !== null);
    const sent = deps.send({ t: 'subscribe', topic, last: options.last, ...(since ? { since } : {}) });
    phase = sent ? { p: 'subscribing', generation: forGeneration, cursorRefused: withoutCursor } : { p: 'idle' };
  }

  async function started(frame: FrameOf<ServerFrame, 'subscribed'>): Promise<void> {
    const was = phase;
    // While live, a new `subscribed` is the server starting the subscription over because the log
    // moved under it (reset, trimmed during the replay): it says what happened, like any start.
    if ((was.p !== 'subscribing' && was.p !== 'live') || !isCurrent(was)) {
      return log.warn('ignored an unexpected subscribed', { topic, phase: was.p });
    }
    writer.started(frame, was.p === 'subscribing' && was.cursorRefused);
    phase = { p: 'live', generation: was.generation };
    // Nothing follows: apply the start (cursor, gap marker) now.
    if (frame.from === undefined) await storeEvents([]);
  }

  async function storeEvents(events: readonly EventFrame[]): Promise<void> {
    if (phase.p !== 'live') {
      // Events of a subscription being replaced; the server sends them again after the cursor.
      if (events.length > 0) log.info('dropped stream events while not subscribed', { topic, count: events.length });
      return;
    }
    const { result, origin } = await writer.write(events);
    failures = 0;
    deps.onChange(result, origin);
    if (result.journaled) deps.journaled();
    if (result.otherEpoch > 0 && isCurrent(phase)) {
      // The server reset the log under a live subscription: ask again since the cursor, and the
      // answer (`epoch changed`) resynchronises.
      resubscribe('an event of another epoch arrived');
    }
  }

  function resubscribe(reason: string): void {
    const link = deps.link();
    if (!link) return;
    log.info('subscribing to a stream again', { topic, reason });
    deps.send({ t: 'unsubscribe', topic });
    phase = { p: 'idle' };
    writer.forget();
    queue.push({ k: 'subscribe', generation: link.generation, withoutCursor: false });
  }

  /** Subscribes again after a backoff delay on the current connection (or at the next open). */
  function retryLater(): void {
    failures++;
    writer.forget();
    const link = deps.link();
    if (!link) return;
    const delay = backoffDelay(failures - 1, options.retry, deps.random);
    link.scope.after(delay, () => queue.push({ k: 'subscribe', generation: link.generation, withoutCursor: false }));
  }

  function failed(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    log.warn('a stream failed; it subscribes again later', { topic, error: message, failures: failures + 1 });
    // Stop the flow we cannot store; the server keeps the events for the next subscribe.
    if (isCurrent(phase)) deps.send({ t: 'unsubscribe', topic });
    phase = { p: 'failed' };
    retryLater();
  }

  function endedByServer(frame: FrameOf<ServerFrame, 'unsubscribed'>): void {
    log.info('server ended a stream subscription', { topic, reason: frame.reason });
    // Answers to our own `unsubscribe` arrive while the topic is no longer live.
    if (phase.p !== 'live' || !isCurrent(phase)) return;
    phase = { p: 'idle' };
    retryLater();
  }

  async function refused(frame: FrameOf<ServerFrame, 'error'>): Promise<void> {
    const was = phase;
    log.warn('server refused a stream topic', { topic, code: frame.code, message: frame.message });
    if (was.p !== 'subscribing' || !isCurrent(was)) return;
    phase = { p: 'idle' };
    if (frame.code === 'invalid' && !was.cursorRefused) {
      // A cursor the server cannot place (from the future): resynchronise without it; the start
      // that follows records an `epoch changed` gap and replaces the cursor.
      return subscribe(was.generation, true);
    }
    if (TRANSIENT.has(frame.code)) retryLater();
  }

  return queue;
}
