/**
 * What of a `HubSession` a host exposes over Comlink: only the `HubApi` methods, never `close` or
 * anything else the object may carry, so a view cannot end another view's session or reach the hub.
 */
import type { HubApi } from '../../../lib/rpc/hub-api';
import type { HubSession } from '../hub';

export function rpcSurface(session: HubSession): HubApi {
  return {
    listen: (listener) => session.listen(listener),
    subscribe: (topics) => session.subscribe(topics),
    unsubscribe: (topics) => session.unsubscribe(topics),
    status: () => session.status(),
    feed: (limit) => session.feed(limit),
    markRead: (ids) => session.markRead(ids),
    markAllRead: () => session.markAllRead(),
    alerts: () => session.alerts(),
    createAlert: (rule) => session.createAlert(rule),
    pauseAlert: (id, paused) => session.pauseAlert(id, paused),
    deleteAlert: (id) => session.deleteAlert(id),
    overlay: (id) => session.overlay(id),
    dismissOverlay: (id, snoozeMinutes) => session.dismissOverlay(id, snoozeMinutes),
    getSettings: () => session.getSettings(),
    saveSettings: (settings) => session.saveSettings(settings),
  };
}
