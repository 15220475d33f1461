/**
 * The `alerts:<user>` state topics: which clients watch whose alerts, the snapshot a
 * subscriber gets at once, and the new value every watcher gets on each change. Alerts change
 * rarely (a message, a firing, an expiry) and the service publishes once per change batch, so
 * values go out at once rather than through the price fan-out's conflation; each value is encoded
 * once for all of the user's connections.
 */
import type { AlertsState } from '../../lib/wire/alerts';
import type { StateFrame } from '../../lib/wire/protocol';
import { topics } from '../../lib/wire/topics';
import type { ServerFrames } from '../clients/frames';
import { addToSet, deleteFromSet } from '../common/set-map';
import type { PreparedFrame } from '../transports/prepared-frame';

/** What the topic needs from one client. */
export interface AlertsTarget {
  /** Writes a frame prepared once for every subscriber. */
  sendPrepared(frame: PreparedFrame): void;
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
  readonly frames: Pick<ServerFrames, 'prepare'>;
  readonly now: () => number;
  /** Sending to one target threw; the others still get the value. */
  readonly onDeliverError: (error: unknown) => void;
}

export function createAlertsTopic(deps: AlertsTopicDeps): AlertsTopic {
  const byUser = new Map<string, Set<AlertsTarget>>();
  const frameOf = (user: string): PreparedFrame => {
    const frame: StateFrame = { t: 'state', topic: topics.alerts(user), value: deps.snapshot(user), at: deps.now() };
    return deps.frames.prepare(frame);
  };

  function deliver(target: AlertsTarget, frame: PreparedFrame): void {
    try {
      target.sendPrepared(frame);
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
