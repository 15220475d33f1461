/**
 * The popup's copy of the alert list. The hub sends the whole merged list (server state plus what
 * the outbox still holds) on every change, so the latest `AlertsUpdate` of a batch simply replaces
 * what the view shows.
 */
import type { AlertItem, TopicUpdate } from '../lib/rpc/hub-api';

/** The alerts of the batch's last `AlertsUpdate`, or `null` if the batch had none. */
export function latestAlerts(batch: readonly TopicUpdate[]): readonly AlertItem[] | null {
  for (let i = batch.length - 1; i >= 0; i -= 1) {
    const update = batch[i]!;
    if (update.kind === 'alerts') return update.alerts;
  }
  return null;
}
