/**
 * One topic's place in what this node's watchers heard from the Redis log, and the transitions
 * that move it; `redis-changes.ts` decides which change reaches them when (its comment gives the
 * rules). Every change the watchers hear goes out through `moveTo` or `emitEvent`, so the position
 * kept is always the last one they heard; epochs left behind are remembered, so a change of an
 * older epoch still in flight is dropped instead of flipping the topic back. The table keeps at
 * most `maxTopics` of them, and never forgets one with a fill running or an own change waiting.
 */
import type { StreamPosition } from '../../lib/wire/protocol';
import type { LogChange, StoredEvent } from './types';

/** Tells the watchers. */
export type Emit = (change: LogChange) => void;

/** An own change waiting for the watchers to hear it. */
export interface Waiter {
  readonly epoch: string;
  readonly seq: number;
  readonly resolve: () => void;
  timer?: ReturnType<typeof setTimeout>;
}

export interface TopicState {
  readonly topic: string;
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

export interface TopicTable {
  /** The topic's state (new if unknown), moved to the most recent end; the least recent idle one goes past `maxTopics`. */
  use(topic: string): TopicState;
  /** The topic's state if known, without touching its place. */
  peek(topic: string): TopicState | undefined;
  /** Every known topic, least recently changed first. */
  all(): IterableIterator<TopicState>;
}

const RETIRED_KEPT = 8;

export const topicOf = (change: LogChange): string => (change.type === 'event' ? change.event.topic : change.topic);
export const positionOf = (change: LogChange): StreamPosition =>
  change.type === 'event' ? { epoch: change.event.epoch, seq: change.event.seq } : { epoch: change.epoch, seq: 0 };

export function createTopicTable(maxTopics: number): TopicTable {
  const topics = new Map<string, TopicState>();
  return {
    use(topic) {
      let state = topics.get(topic);
      if (state) topics.delete(topic);
      else state = { topic, epoch: undefined, seq: 0, retired: [], seed: undefined, filling: undefined, held: [], waiters: [] };
      topics.set(topic, state);
      if (topics.size > maxTopics) {
        for (const [name, old] of topics) {
          if (topics.size <= maxTopics) break;
          if (!old.filling && old.waiters.length === 0) topics.delete(name);
        }
      }
      return state;
    },
    peek: (topic) => topics.get(topic),
    all: () => topics.values(),
  };
}

export const isRetired = (state: TopicState, epoch: string): boolean => state.retired.includes(epoch);

export function moveTo(state: TopicState, epoch: string, emit: Emit): void {
  if (state.epoch !== undefined) {
    state.retired.push(state.epoch);
    if (state.retired.length > RETIRED_KEPT) state.retired.shift();
  }
  state.epoch = epoch;
  state.seq = 0;
  state.seed = undefined;
  emit({ type: 'reset', topic: state.topic, epoch });
}

export function emitEvent(state: TopicState, event: StoredEvent, emit: Emit): void {
  state.epoch = event.epoch;
  state.seq = event.seq;
  state.seed = undefined;
  emit({ type: 'event', event });
}

/** Resolves the own changes the topic has caught up with, or that a later epoch superseded. */
export function settle(state: TopicState): void {
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
export function applyHeard(state: TopicState, change: LogChange, emit: Emit): boolean {
  const at = positionOf(change);
  if (isRetired(state, at.epoch)) return true;
  if (change.type === 'reset') {
    if (state.epoch !== at.epoch) moveTo(state, at.epoch, emit);
    return true;
  }
  const { event } = change;
  if (state.epoch === undefined) {
    // Past the head this node read, events it never heard were lost on the way: fill from there.
    // Otherwise the first change heard is where this node starts following the topic (one at or
    // below that head may still have been in flight when it was read).
    const seed = state.seed;
    if (seed && event.epoch === seed.epoch && event.seq > seed.seq + 1) return false;
    emitEvent(state, event, emit);
    return true;
  }
  if (event.epoch !== state.epoch) {
    if (event.seq !== 1) return false;
    moveTo(state, event.epoch, emit);
  }
  if (event.seq <= state.seq) return true;
  if (event.seq !== state.seq + 1) return false;
  emitEvent(state, event, emit);
  return true;
}
