/**
 * What one node's watchers hear from the Redis log: every append and reset of every node, per
 * topic in seq order, once, with no gap. Changes reach a node two ways:
 * - `heard`: the pub/sub channel, in the order Redis ran the scripts, but not reliably (messages
 *   published while the subscriber was reconnecting are lost);
 * - `own`: the reply to this node's own append or reset, possibly ahead of changes of other nodes
 *   still in flight on the subscriber connection.
 * Per topic this keeps the last position emitted and decides:
 * - a heard change that follows it is emitted; one already emitted (the echo of an own append) is
 *   dropped; one that leaves a gap, or comes in a later epoch past its first event, starts a fill;
 * - an own append that follows it is emitted at once, before `append` resolves; any other own
 *   change (a gap, another epoch, a topic this node has not heard yet) waits for its echo, which
 *   comes after everything before it. If the echo has not come within `echoWaitMs`, or the
 *   subscriber is down, a fill runs instead.
 * A fill reads the log from the last position emitted up to its head (`read`): a later epoch is
 * announced by a `reset` first, and events already trimmed away simply are not there, so the
 * first one read does not follow the last emitted (downstream, that shows as a gap and is
 * resynchronised). Only heard changes (which are in order) and fills (which read what Redis holds
 * now) ever change a topic's epoch; epochs left behind are remembered, so a change of an older
 * epoch still in flight is dropped instead of flipping the topic back.
 * `catchUp` fills every topic this node knows of, after a reconnect. A topic's state and the
 * transitions that move it live in `redis-topic-state.ts`; this file decides when each one runs.
 */
import type { StreamPosition } from '../../lib/wire/protocol';
import type { LogChange, StoredEvent } from './types';
import {
  applyHeard,
  createTopicTable,
  emitEvent,
  isRetired,
  moveTo,
  positionOf,
  settle,
  topicOf,
  type Emit,
  type TopicState,
  type Waiter,
} from './redis-topic-state';

export interface ChangeSequencerDeps {
  /** Tells the watchers. */
  readonly emit: Emit;
  /** The topic's current epoch (`null` when its log is gone) and up to `limit` events after `after`, if `after.epoch` is current. */
  readonly read: (topic: string, after: StreamPosition, limit: number) => Promise<{ readonly epoch: string | null; readonly events: readonly StoredEvent[] }>;
  /** Whether the pub/sub subscription is up, so an echo can be waited for. */
  readonly subscribed: () => boolean;
  /** A fill failed (Redis unreachable): it is retried by the next `catchUp`. */
  readonly onFillError: (error: unknown) => void;
  /** How long an own change waits for its echo before a fill. Default 250. */
  readonly echoWaitMs?: number;
  /** Most topics whose position is kept (least recently changed go first). Default 100000. */
  readonly maxTopics?: number;
}

export interface ChangeSequencer {
  /** A change from the pub/sub channel. */
  heard(change: LogChange): void;
  /** This node's own append or reset, as Redis replied; resolves once the watchers heard it (or it was superseded). */
  own(change: LogChange): Promise<void>;
  /** The head this node read of `topic`: where a fill starts should the subscriber miss the topic's next changes. */
  sawHead(topic: string, head: StreamPosition): void;
  /** Fills every known topic up to its head (after the subscriber or the command connection came back). */
  catchUp(): Promise<void>;
  /** Resolves every waiting own change and stops the timers. */
  close(): void;
}

const FILL_CHUNK = 1_000;

export function createChangeSequencer(deps: ChangeSequencerDeps): ChangeSequencer {
  const echoWaitMs = deps.echoWaitMs ?? 250;
  const topics = createTopicTable(deps.maxTopics ?? 100_000);
  const emit: Emit = (change) => deps.emit(change);
  let closed = false;

  /** Starts a fill, or joins the one running. */
  function fill(state: TopicState): Promise<void> {
    if (closed) return Promise.resolve();
    state.filling ??= runFill(state);
    return state.filling;
  }

  async function runFill(state: TopicState): Promise<void> {
    try {
      if (state.epoch === undefined && state.seed) {
        state.epoch = state.seed.epoch;
        state.seq = state.seed.seq;
      }
      for (;;) {
        const { epoch, events } = await deps.read(state.topic, { epoch: state.epoch ?? '', seq: state.seq }, FILL_CHUNK);
        if (closed || epoch === null) break;
        if (epoch !== state.epoch) {
          moveTo(state, epoch, emit);
          settle(state);
          continue;
        }
        for (const event of events) if (event.seq > state.seq) emitEvent(state, event, emit);
        settle(state);
        if (events.length < FILL_CHUNK) break;
      }
    } catch (error) {
      deps.onFillError(error);
    } finally {
      state.filling = undefined;
    }
    const held = state.held;
    state.held = [];
    let again = false;
    for (const change of held) again = !applyHeard(state, change, emit) || again;
    settle(state);
    if (again) void fill(state);
  }

  function heard(change: LogChange): void {
    if (closed) return;
    const state = topics.use(topicOf(change));
    if (state.filling) {
      state.held.push(change);
      return;
    }
    if (!applyHeard(state, change, emit)) void fill(state);
    settle(state);
  }

  /** After the echo wait (or at once without a subscriber), fills, then resolves the waiter whatever the fill achieved. */
  function fillFor(state: TopicState, waiter: Waiter): void {
    waiter.timer = undefined;
    if (state.epoch === undefined && state.seed === undefined && waiter.seq > 0) {
      state.seed = { epoch: waiter.epoch, seq: waiter.seq - 1 };
    }
    void fill(state).then(() => {
      if (!state.waiters.includes(waiter)) return;
      state.waiters = state.waiters.filter((w) => w !== waiter);
      // The change is in Redis; its watchers hear of it on the next catch-up if the fill could not tell them.
      waiter.resolve();
    });
  }

  function own(change: LogChange): Promise<void> {
    if (closed) return Promise.resolve();
    const state = topics.use(topicOf(change));
    const at = positionOf(change);
    if (!state.filling && change.type === 'event' && state.epoch === at.epoch && at.seq === state.seq + 1) {
      emitEvent(state, change.event, emit);
      settle(state);
      return Promise.resolve();
    }
    if ((state.epoch === at.epoch && at.seq <= state.seq) || isRetired(state, at.epoch)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter: Waiter = { ...at, resolve };
      state.waiters.push(waiter);
      if (deps.subscribed()) waiter.timer = setTimeout(() => fillFor(state, waiter), echoWaitMs);
      else fillFor(state, waiter);
    });
  }

  return {
    heard,
    own,
    sawHead(topic, head) {
      if (closed) return;
      const state = topics.peek(topic);
      if (state === undefined) topics.use(topic).seed = head;
      else if (state.epoch === undefined && state.seed === undefined) state.seed = head;
    },
    async catchUp() {
      const known = [...topics.all()].filter((state) => state.epoch !== undefined || state.seed !== undefined);
      // In slices, so a node that follows many topics does not send all the reads at once.
      for (let i = 0; i < known.length && !closed; i += 256) {
        await Promise.all(known.slice(i, i + 256).map((state) => fill(state)));
      }
    },
    close() {
      closed = true;
      for (const state of topics.all()) {
        for (const waiter of state.waiters) {
          clearTimeout(waiter.timer);
          waiter.resolve();
        }
        state.waiters = [];
      }
    },
  };
}
