/**
 * The `alerts:<user>` state topics: which clients watch whose alerts, the snapshot a subscriber
 * gets at once, and the list every watcher gets after changes. Only the latest list matters, so a
 * user's topic is sent the way a price topic is (`server/prices/fanout.ts`): a quiet topic's new
 * list goes out at once, in the same turn as the change (before the change's ack); a topic that
 * sent less than `flushMs` ago sends when that time is up, the list as it is then, however many
 * changes came meanwhile. So a flush of a thousand queued messages costs the server (and each
 * watching hub) a list every `flushMs`, not a list per message, and after the last change its list
 * always follows within `flushMs`. Acks are not held back: they are separate frames. A list is
 * always built when it is written, so it holds every change whose ack went out before it. Each list
 * is encoded once for all of the user's connections.
 */
import type { AlertsState } from '../../lib/wire/alerts';
import type { StateFrame } from '../../lib/wire/protocol';
import { topics } from '../../lib/wire/topics';
import type { ServerFrames } from '../clients/frames';
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
  /** `user`'s alerts changed: every subscriber gets the list now, or within `flushMs` if it was just sent. */
  publish(user: string): void;
  /** Subscribers of a user's topic right now. */
  count(user: string): number;
  /** Sends every list still pending now (shutdown, tests). */
  flush(): void;
  /** Cancels the pending sends; nothing more is sent. */
  stop(): void;
}

export interface AlertsTopicDeps {
  readonly snapshot: (user: string) => AlertsState;
  readonly frames: Pick<ServerFrames, 'prepare'>;
  readonly now: () => number;
  /** Shortest time between two lists of one user, in ms; changes in between go out together. */
  readonly flushMs: number;
  /** Monotonic clock in ms. Default `performance.now`. */
  readonly clock?: () => number;
  /** Sending to one target threw; the others still get the value. */
  readonly onDeliverError: (error: unknown) => void;
}

/** One user's topic: its subscribers, when it last sent, and the send waiting for `flushMs` to pass. */
interface UserTopic {
  readonly targets: Set<AlertsTarget>;
  sentAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export function createAlertsTopic(deps: AlertsTopicDeps): AlertsTopic {
  const clock = deps.clock ?? (() => performance.now());
  const byUser = new Map<string, UserTopic>();
  let stopped = false;

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

  function send(user: string, topic: UserTopic): void {
    if (topic.timer !== undefined) clearTimeout(topic.timer);
    topic.timer = undefined;
    topic.sentAt = clock();
    if (topic.targets.size === 0) return;
    const frame = frameOf(user);
    for (const target of [...topic.targets]) deliver(target, frame);
  }

  return {
    subscribe(user, target) {
      let topic = byUser.get(user);
      if (!topic) byUser.set(user, (topic = { targets: new Set(), sentAt: -Infinity, timer: undefined }));
      topic.targets.add(target);
      deliver(target, frameOf(user));
    },
    unsubscribe(user, target) {
      const topic = byUser.get(user);
      if (!topic?.targets.delete(target) || topic.targets.size > 0) return;
      if (topic.timer !== undefined) clearTimeout(topic.timer);
      byUser.delete(user);
    },
    publish(user) {
      const topic = byUser.get(user);
      if (!topic || stopped || topic.timer !== undefined) return;
      const wait = topic.sentAt + deps.flushMs - clock();
      if (wait <= 0) return send(user, topic);
      topic.timer = setTimeout(() => send(user, topic), wait);
    },
    count: (user) => byUser.get(user)?.targets.size ?? 0,
    flush() {
      for (const [user, topic] of byUser) if (topic.timer !== undefined) send(user, topic);
    },
    stop() {
      stopped = true;
      for (const topic of byUser.values()) if (topic.timer !== undefined) clearTimeout(topic.timer);
    },
  };
}
