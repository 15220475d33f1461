/**
 * The `alerts:<user>` state topics: which clients watch whose alerts, the snapshot a
 * subscriber gets at once, and the new value every watcher gets on each change. Alerts change
 * rarely (a message, a firing, an expiry) and the service publishes once per change batch, so
 * values go out at once rather than through the price fan-out's conflating timer.
 */
import type { AlertsState } from '../../lib/wire/alerts';
import type { StateFrame } from '../../lib/wire/protocol';
import { topics } from '../../lib/wire/topics';
import { addToSet, deleteFromSet } from '../common/set-map';

/** What the topic needs from one client. */
export interface AlertsTarget {
  send(frame: StateFrame): void;
}

export interface AlertsTopic {
  /** Starts sending `user`'s alerts to `target`, beginning with the snapshot (the caller subscribes a target once). */
  subscribe(user: string, target: AlertsTarget): void;
  unsubscribe(user: string, target: AlertsTarget): void;
  /** Sends `user`'s alerts as they are now to every subscriber. */
  publish(user: string): void;
  /** Subscribers of a user's topic right now. */
  count(user: string): number;
}

export interface AlertsTopicDeps {
  readonly snapshot: (user: string) => AlertsState;
  readonly now: () => number;
  /** Sending to one target threw; the others still get the value. */
  readonly onDeliverError: (error: unknown) => void;
}

export function createAlertsTopic(deps: AlertsTopicDeps): AlertsTopic {
  const byUser = new Map<string, Set<AlertsTarget>>();
  const frameOf = (user: string): StateFrame => ({ t: 'state', topic: topics.alerts(user), value: deps.snapshot(user), at: deps.now() });

  function deliver(target: AlertsTarget, frame: StateFrame): void {
    try {
      target.send(frame);
    } catch (error) {
      deps.onDeliverError(error);
    }
  }

  return {
    subscribe(user, target) {
      addToSet(byUser, user, target);
      deliver(target, frameOf(user));
    },
    unsubscribe: (user, target) => deleteFromSet(byUser, user, target),
    publish(user) {
      const set = byUser.get(user);
      if (!set) return;
      const frame = frameOf(user);
      for (const target of [...set]) deliver(target, frame);
    },
    count: (user) => byUser.get(user)?.size ?? 0,
  };
}
