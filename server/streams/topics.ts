/**
 * One client's `stream` subscriptions: the subscribe flow that joins replay and live with no
 * gap and no duplicate, and live delivery after it.
 *
 * A subscription is registered with the fan-out first and starts out `replaying`: live events that
 * arrive meanwhile are held, not sent. Then the head is read, the recovery decided
 * (`planRecovery`), `subscribed` sent, and the replay read from the log in chunks up to that head
 * (`replay.ts`), waiting for the socket to drain whenever it is over `maxBufferedBytes`. Last, the
 * held events with `seq` above the last one sent are flushed and the subscription goes `live`.
 * Every event appended after the registration is held, and every one before it is at or below the
 * head, so the two meet exactly.
 *
 * If the log moves under a subscription (trimmed during a replay, reset to a new epoch, or an
 * event arrives that does not follow the last one sent), the subscription starts over from the
 * last event sent, which announces a new `subscribed` saying what happened: the client is never
 * left with a silent gap.
 *
 * A `subscribe` to a topic the connection already holds replaces the subscription the same way:
 * it continues from the later of the client's cursor and the last event this connection was sent,
 * so what the client already has is not sent again (everything sent before the new `subscribed`
 * reaches it first, in order). A client that dropped events it was sent says so by unsubscribing
 * first (as the hub does): after `unsubscribe` a subscribe replays from its cursor like any other.
 * A replay that a newer subscribe or an unsubscribe superseded stops at once, also while waiting
 * for the socket to drain.
 */
import { CloseCode } from '../../lib/wire/close-codes';
import type { StreamPosition } from '../../lib/wire/protocol';
import type { Outbound } from '../clients/outbound';
import type { EventLog, StoredEvent } from '../event-log/types';
import type { Metrics, RefusalReason } from '../metrics';
import type { StreamFanout, StreamTarget } from './fanout';
import { planRecovery } from './recovery';
import { readChunk, replay } from './replay';

export { REPLAY_CHUNK_EVENTS } from './replay';
/** Live events held for one subscription while its replay runs; more means the client cannot keep up. */
export const MAX_HELD_EVENTS = 10_000;
const MAX_ATTEMPTS = 5;

/** The outbound closes a connection whose backlog outgrows its limit, stream events included. */
export interface StreamLimits {
  /** Over this many buffered bytes a replay waits for the socket to drain. */
  readonly maxBufferedBytes: number;
  /** A replay waiting longer than this for the socket to drain closes the connection with 1013. */
  readonly drainTimeoutMs: number;
}

export interface StreamTopicsDeps {
  readonly log: EventLog;
  readonly fanout: StreamFanout;
  readonly out: Outbound;
  readonly metrics: Pick<Metrics, 'streamSubscribed' | 'subscriptionRefused' | 'eventsReplayed' | 'eventsDelivered' | 'streamReplayed'>;
  readonly limits: StreamLimits;
  /** Closes the client's socket. */
  readonly drop: (code: number, reason: string, refusal?: RefusalReason) => void;
  /** A subscribe flow failed unexpectedly (e.g. the store is gone). */
  readonly onError: (error: unknown) => void;
}

export interface StreamTopics {
  /**
   * Starts a subscription, or replaces a held one from the later of `since` and what was sent;
   * the answer and the events follow asynchronously.
   */
  subscribe(topic: string, since: StreamPosition | undefined, last: number): void;
  /** Stops one; nothing more of the topic is sent after this returns. Returns whether it was held. */
  unsubscribe(topic: string): boolean;
  has(topic: string): boolean;
  /** Stops every subscription (the client closed). */
  clear(): void;
  readonly size: number;
}

interface Subscription {
  /** What the client asked for; `since` moves to the last event sent when the flow starts over. */
  since: StreamPosition | undefined;
  readonly last: number;
  phase: 'replaying' | 'live';
  /** The epoch announced in `subscribed`; undefined until then. */
  epoch: string | undefined;
  /** `seq` of the last event sent (or of the announced position when none was). */
  lastSent: number;
  /** Live events that arrived while replaying. */
  held: StoredEvent[];
  /** Where an earlier flow of this topic left this connection, until this one announces its own. */
  sentBefore: StreamPosition | undefined;
  /** Aborted when the subscription is replaced or removed: its replay stops at once. */
  readonly stop: AbortController;
}

/** Where the connection is in the topic: the last event (or announced position) it was sent. */
const sentPosition = (sub: Subscription): StreamPosition | undefined =>
  sub.epoch === undefined ? sub.sentBefore : { epoch: sub.epoch, seq: sub.lastSent };

/** A held topic continues from the client's cursor only where that is ahead of what it was sent. */
function resume(since: StreamPosition | undefined, sent: StreamPosition | undefined): StreamPosition | undefined {
  if (sent === undefined) return since;
  return since !== undefined && since.epoch === sent.epoch && since.seq > sent.seq ? since : sent;
}

const slowConsumer = 'client too slow for its stream events';

export function createStreamTopics(deps: StreamTopicsDeps): StreamTopics {
  const { log, fanout, out, metrics } = deps;
  const subs = new Map<string, Subscription>();

  const target: StreamTarget = {
    onEvent(event) {
      const sub = subs.get(event.topic);
      if (sub) deliver(event.topic, sub, event);
    },
    onReset(topic) {
      const sub = subs.get(topic);
      if (sub) startOver(topic, sub);
    },
  };

  function subscribe(topic: string, since: StreamPosition | undefined, last: number): void {
    const old = subs.get(topic);
    const sent = old && sentPosition(old);
    old?.stop.abort();
    const sub: Subscription = {
      since: resume(since, sent),
      last,
      phase: 'replaying',
      epoch: undefined,
      lastSent: 0,
      held: [],
      sentBefore: sent,
      stop: new AbortController(),
    };
    subs.set(topic, sub);
    fanout.add(topic, target);
    run(topic, sub).catch((error: unknown) => {
      if (subs.get(topic) === sub) deps.onError(error);
    });
  }

  /** Replaces the subscription by one that continues from the last event sent (or the original cursor). */
  function startOver(topic: string, sub: Subscription): void {
    subscribe(topic, sub.since, sub.last);
  }

  function remove(topic: string): void {
    subs.get(topic)?.stop.abort();
    subs.delete(topic);
    fanout.remove(topic, target);
  }

  async function run(topic: string, sub: Subscription): Promise<void> {
    const current = () => subs.get(topic) === sub && out.isOpen();
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      // Each new attempt follows a change of the log under us; a log that keeps changing faster
      // than one chunk can be read is a fault, not a reason to spin.
      if (attempt > MAX_ATTEMPTS) throw new Error(`The log of ${topic} kept changing during ${MAX_ATTEMPTS} replay attempts`);
      const head = await log.head(topic);
      if (!current()) return;
      const plan = planRecovery(head, sub.since, sub.last);
      if (plan.kind === 'invalid') {
        remove(topic);
        metrics.subscriptionRefused('invalid-cursor');
        out.send({ t: 'error', code: 'invalid', topic, message: plan.message });
        return;
      }
      const position = { epoch: head.epoch, seq: head.seq };
      const chunk = plan.after < head.seq ? await readChunk(log, topic, head, plan.after) : [];
      if (!current()) return;
      // Trimmed or reset between reading the head and the events: decide again on the new head.
      if (plan.after < head.seq && chunk[0]?.seq !== plan.after + 1) continue;

      sub.epoch = head.epoch;
      sub.lastSent = plan.after;
      out.send({ t: 'subscribed', topic, mode: 'stream', recovery: plan.kind, position, ...(chunk[0] ? { from: chunk[0].seq } : {}) });
      metrics.streamSubscribed(plan.kind);

      const onSlow = () => deps.drop(CloseCode.tryAgainLater, slowConsumer, 'slow-consumer');
      const end = await replay(deps, { topic, head, sub, current, onSlow, signal: sub.stop.signal }, chunk);
      if (end === 'stopped') return;
      if (end === 'moved-on') {
        // The log lost events we had not sent yet: say so with a new `subscribed` from here.
        sub.since = { epoch: head.epoch, seq: sub.lastSent };
        sub.sentBefore = sub.since;
        sub.epoch = undefined;
        continue;
      }

      if (chunk.length > 0) metrics.streamReplayed((performance.now() - started) / 1000);
      sub.phase = 'live';
      const held = sub.held;
      sub.held = [];
      for (const event of held) {
        if (subs.get(topic) !== sub) return;
        deliver(topic, sub, event);
      }
      return;
    }
  }

  function deliver(topic: string, sub: Subscription, event: StoredEvent): void {
    if (sub.phase === 'replaying') {
      sub.held.push(event);
      if (sub.held.length > MAX_HELD_EVENTS) deps.drop(CloseCode.tryAgainLater, slowConsumer, 'slow-consumer');
      return;
    }
    if (event.epoch === sub.epoch && event.seq <= sub.lastSent) return;
    if (event.epoch !== sub.epoch || event.seq !== sub.lastSent + 1) return startOver(topic, sub);
    out.sendEvent(event);
    sub.lastSent = event.seq;
    metrics.eventsDelivered(1);
  }

  return {
    subscribe,
    unsubscribe(topic) {
      if (!subs.has(topic)) return false;
      remove(topic);
      return true;
    },
    has: (topic) => subs.has(topic),
    clear() {
      for (const topic of [...subs.keys()]) remove(topic);
    },
    get size() {
      return subs.size;
    },
  };
}
