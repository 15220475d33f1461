/**
 * The hub's own hold on `alerts:<user>` in the subscription registry: taken on every open (the
 * user is known from `welcome`), released when the connection leaves open (nothing is sent while
 * closed), so the next open subscribes it exactly once. Its values go to the alerts.
 */
import type { AlertsState } from '../../../lib/wire/alerts';
import { isUserName } from '../../../lib/wire/ids';
import { parseTopic, topics, type TopicId } from '../../../lib/wire/topics';
import type { Registry } from '../sessions/registry';
import type { Alerts } from './alerts';

export interface AlertsTopic {
  /** The connection opened for `user`: hold `alerts:<user>`. */
  opened(user: string): void;
  /** The connection left open: release it. */
  closed(): void;
  /** Leaves the registry for good. */
  leave(): void;
}

export function holdAlertsTopic(deps: { readonly registry: Registry; readonly alerts: Pick<Alerts, 'receive'> }): AlertsTopic {
  const own = deps.registry.join((update) => {
    if (update.kind !== 'state') return; // A refused subscription is logged by the registry.
    const topic = parseTopic(update.topic);
    // The registry delivers only values that passed `parseAlertsState` (its `checkStateValue`).
    if (topic?.kind === 'alerts' && topic.arg !== undefined) deps.alerts.receive(topic.arg, update.value as AlertsState, update.at);
  });
  let held: TopicId | null = null;

  return {
    opened(user) {
      const topic = isUserName(user) ? parseTopic(topics.alerts(user)) : null;
      if (!topic) return;
      own.subscribe([topic]);
      held = topic.id;
    },
    closed() {
      if (held) own.unsubscribe([held]);
      held = null;
    },
    leave: () => own.leave(),
  };
}
