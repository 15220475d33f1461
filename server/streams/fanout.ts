/**
 * Delivery of stream log changes to the clients subscribed to each topic. Unlike price ticks,
 * nothing is conflated or delayed here: every appended event reaches each subscriber at once, in
 * the order the log reported it, and the subscriber decides what to do with it (send, or hold it
 * while its replay is running). Every subscriber is handed the same event object, which is what
 * lets the outbound encode its frame once for all of them (`clients/frames.ts`). Publishing visits
 * only the topic's own subscribers.
 */
import { addToSet, deleteFromSet } from '../common/set-map';
import type { LogChange, StoredEvent } from '../event-log/types';

/** What the fan-out needs from one client. */
export interface StreamTarget {
  onEvent(event: StoredEvent): void;
  /** The topic's log was reset to a new epoch. */
  onReset(topic: string, epoch: string): void;
}

export interface StreamFanout {
  add(topic: string, target: StreamTarget): void;
  remove(topic: string, target: StreamTarget): void;
  /** Hands one log change to the topic's subscribers; one that throws does not stop the others. */
  dispatch(change: LogChange): void;
  /** Subscribers of a topic right now. */
  count(topic: string): number;
}

export interface StreamFanoutDeps {
  readonly onDeliverError: (error: unknown) => void;
  /** Wall clock in ms, the clock of an event's `at`. Default `Date.now`. */
  readonly now?: () => number;
  /** Seconds from an event's append (its `at`) until every live subscriber was handed it; once per event. */
  readonly observe?: (seconds: number) => void;
}

export function createStreamFanout(deps: StreamFanoutDeps): StreamFanout {
  const now = deps.now ?? Date.now;
  const byTopic = new Map<string, Set<StreamTarget>>();
  return {
    add: (topic, target) => addToSet(byTopic, topic, target),
    remove: (topic, target) => deleteFromSet(byTopic, topic, target),
    dispatch(change) {
      const topic = change.type === 'event' ? change.event.topic : change.topic;
      const targets = byTopic.get(topic);
      if (!targets) return;
      // A copy: a target may unsubscribe (or resubscribe) while being told.
      for (const target of [...targets]) {
        try {
          if (change.type === 'event') target.onEvent(change.event);
          else target.onReset(change.topic, change.epoch);
        } catch (error) {
          deps.onDeliverError(error);
        }
      }
      if (change.type === 'event') deps.observe?.(Math.max(0, now() - change.event.at) / 1000);
    },
    count: (topic) => byTopic.get(topic)?.size ?? 0,
  };
}
