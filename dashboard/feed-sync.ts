/**
 * The dedicated-Worker fallback's one repair. There each tab has its own hub, and the hubs share the
 * feed and its cursors in IndexedDB: an event the hub of tab A stored first is, for the hub of tab
 * B, already behind the cursor, so B stores nothing and tells its tab nothing (and a `Mark read`
 * in A is never heard of in B). So a tab that sees its feed change says so on a
 * `BroadcastChannel`, and the other tabs reload the feed from their hub, which reads the shared
 * store. With a SharedWorker every tab hears every change from the one hub and this is not used.
 */

const CHANNEL = 'switchboard-feed';

export interface FeedSync {
  /** Tells the other tabs that this tab's feed changed. */
  announce(): void;
  close(): void;
}

/** Calls `onOtherTabChanged` whenever another tab of the origin announces a feed change. */
export function createFeedSync(onOtherTabChanged: () => void): FeedSync {
  if (typeof BroadcastChannel !== 'function') return { announce: () => {}, close: () => {} };
  const channel = new BroadcastChannel(CHANNEL);
  channel.onmessage = () => onOtherTabChanged();
  return {
    announce: () => channel.postMessage('changed'),
    close: () => channel.close(),
  };
}
