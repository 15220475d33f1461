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
 * `catchUp` fills every topic this node knows of, after a reconnect.
 */
import type { StreamPosition } from '../../lib/wire/protocol';
import type { LogChange, StoredEvent } from './types';

export interface ChangeSequencerDeps {
  /** Tells the watchers. */
  readonly emit: (change: LogChange) => void;
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

interface Waiter {
  readonly epoch: string;
  readonly seq: number;
  readonly resolve: () => void;
  timer?: ReturnType<typeof setTimeout>;
}

interface TopicState {
  /** Epoch and seq of the last change emitted (seq 0 after a reset); no epoch before the first. */
  epoch: string | undefined;
  seq: number;
  /** Epochs this topic has left, newest last. */
  readonly retired: string[];
  /** Where a fill starts when nothing was emitted yet (from `sawHead`). */
  seed: StreamPosition | undefined;
  /** The fill running now, if any. */
  filling: Promise<void> | undefined;
  /** Heard changes that came during a fill, applied after it. */
  held: LogChange[];
  waiters: Waiter[];
}

const FILL_CHUNK = 1_000;
const RETIRED_KEPT = 8;

const topicOf = (change: LogChange): string => (change.type === 'event' ? change.event.topic : change.topic);
const positionOf = (change: LogChange): StreamPosition =>
  change.type === 'event' ? { epoch: change.event.epoch, seq: change.event.seq } : { epoch: change.epoch, seq: 0 };

export function createChangeSequencer(deps: ChangeSequencerDeps): ChangeSequencer {
  const echoWaitMs = deps.echoWaitMs ?? 250;
  const maxTopics = deps.maxTopics ?? 100_000;
  const topics = new Map<string, TopicState>();
  let closed = false;

  /** The topic's state, moved to the most recent end; the least recent idle one goes past `maxTopics`. */
  function stateOf(topic: string): TopicState {
    let state = topics.get(topic);
    if (state) topics.delete(topic);
    else state = { epoch: undefined, seq: 0, retired: [], seed: undefined, filling: undefined, held: [], waiters: [] };
    topics.set(topic, state);
    if (topics.size > maxTopics) {
      for (const [name, old] of topics) {
        if (topics.size <= maxTopics) break;
        if (!old.filling && old.waiters.length === 0) topics.delete(name);
      }
    }
    return state;
  }

  const isRetired = (state: TopicState, epoch: string) => state.retired.includes(epoch);

  function moveTo(topic: string, state: TopicState, epoch: string): void {
    if (state.epoch !== undefined) {
      state.retired.push(state.epoch);
      if (state.retired.length > RETIRED_KEPT) state.retired.shift();
    }
    state.epoch = epoch;
    state.seq = 0;
    state.seed = undefined;
    deps.emit({ type: 'reset', topic, epoch });
  }

  function emitEvent(state: TopicState, event: StoredEvent): void {
    state.epoch = event.epoch;
    state.seq = event.seq;
    state.seed = undefined;
    deps.emit({ type: 'event', event });
  }

  /** Resolves the own changes the topic has caught up with, or that a later epoch superseded. */
  function settle(state: TopicState): void {
    if (state.waiters.length === 0) return;
    state.waiters = state.waiters.filter((w) => {
      const done = (w.epoch === state.epoch && w.seq <= state.seq) || isRetired(state, w.epoch);
      if (done) {
        clearTimeout(w.timer);
        w.resolve();
      }
      return !done;
    });
  }

  /** Applies one heard change; returns false when a fill is needed. */
  function applyHeard(topic: string, state: TopicState, change: LogChange): boolean {
    const at = positionOf(change);
    if (isRetired(state, at.epoch)) return true;
    if (change.type === 'reset') {
      if (state.epoch !== at.epoch) moveTo(topic, state, at.epoch);
      return true;
    }
    const { event } = change;
    if (state.epoch === undefined) {
      // Past the head this node read, events it never heard were lost on the way: fill from there.
      // Otherwise the first change heard is where this node starts following the topic (one at or
      // below that head may still have been in flight when it was read).
      const seed = state.seed;
      if (seed && event.epoch === seed.epoch && event.seq > seed.seq + 1) return false;
      emitEvent(state, event);
      return true;
    }
    if (event.epoch !== state.epoch) {
      if (event.seq !== 1) return false;
      moveTo(topic, state, event.epoch);
    }
    if (event.seq <= state.seq) return true;
    if (event.seq !== state.seq + 1) return false;
    emitEvent(state, event);
    return true;
  }

  /** Starts a fill, or joins the one running. */
  function fill(topic: string, state: TopicState): Promise<void> {
    if (closed) return Promise.resolve();
    state.filling ??= runFill(topic, state);
    return state.filling;
  }

  async function runFill(topic: string, state: TopicState): Promise<void> {
    try {
      if (state.epoch === undefined && state.seed) {
        state.epoch = state.seed.epoch;
        state.seq = state.seed.seq;
      }
      for (;;) {
        const { epoch, events } = await deps.read(topic, { epoch: state.epoch ?? '', seq: state.seq }, FILL_CHUNK);
        if (closed || epoch === null) break;
        if (epoch !== state.epoch) {
          moveTo(topic, state, epoch);
          settle(state);
          continue;
        }
        for (const event of events) if (event.seq > state.seq) emitEvent(state, event);
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
    for (const change of held) again = !applyHeard(topic, state, change) || again;
    settle(state);
    if (again) void fill(topic, state);
  }

  function heard(change: LogChange): void {
    if (closed) return;
    const topic = topicOf(change);
    const state = stateOf(topic);
    if (state.filling) {
      state.held.push(change);
      return;
    }
    if (!applyHeard(topic, state, change)) void fill(topic, state);
    settle(state);
  }

  /** After the echo wait (or at once without a subscriber), fills, then resolves the waiter whatever the fill achieved. */
  function fillFor(topic: string, state: TopicState, waiter: Waiter): void {
    waiter.timer = undefined;
    if (state.epoch === undefined && state.seed === undefined && waiter.seq > 0) {
      state.seed = { epoch: waiter.epoch, seq: waiter.seq - 1 };
    }
    void fill(topic, state).then(() => {
      if (!state.waiters.includes(waiter)) return;
      state.waiters = state.waiters.filter((w) => w !== waiter);
      // The change is in Redis; its watchers hear of it on the next catch-up if the fill could not tell them.
      waiter.resolve();
    });
  }

  function own(change: LogChange): Promise<void> {
    if (closed) return Promise.resolve();
    const topic = topicOf(change);
    const state = stateOf(topic);
    const at = positionOf(change);
    if (!state.filling && change.type === 'event' && state.epoch === at.epoch && at.seq === state.seq + 1) {
      emitEvent(state, change.event);
      settle(state);
      return Promise.resolve();
    }
    if ((state.epoch === at.epoch && at.seq <= state.seq) || isRetired(state, at.epoch)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter: Waiter = { ...at, resolve };
      state.waiters.push(waiter);
      if (deps.subscribed()) waiter.timer = setTimeout(() => fillFor(topic, state, waiter), echoWaitMs);
      else fillFor(topic, state, waiter);
    });
  }

  return {
    heard,
    own,
    sawHead(topic, head) {
      if (closed) return;
      const state = topics.get(topic);
      if (state === undefined) stateOf(topic).seed = head;
      else if (state.epoch === undefined && state.seed === undefined) state.seed = head;
    },
    async catchUp() {
      const known = [...topics].filter(([, state]) => state.epoch !== undefined || state.seed !== undefined);
      // In slices, so a node that follows many topics does not send all the reads at once.
      for (let i = 0; i < known.length && !closed; i += 256) {
        await Promise.all(known.slice(i, i + 256).map(([topic, state]) => fill(topic, state)));
      }
    },
    close() {
      closed = true;
      for (const state of topics.values()) {
        for (const waiter of state.waiters) {
          clearTimeout(waiter.timer);
          waiter.resolve();
        }
        state.waiters = [];
      }
    },
  };
}
