/**
 * What both hosts (popup and dashboard) show of the hub: the notification feed, the price list and
 * the alerts. `useHubViews` opens the host's hub client once, keeps the three from its updates and
 * reloads, subscribes to prices and closes the client with the component; `HubPanels` renders
 * them. Each host keeps only its own parts: how it connects, and its sign-in, badge, title or banners.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { AlertItem, FeedPage, TopicUpdate } from '../lib/rpc/hub-api';
import type { HubClient } from '../lib/rpc/hub-client';
import { topics } from '../lib/wire/topics';
import { AlertsSection } from './AlertsSection';
import { applyFeedSnapshot, applyFeedUpdates, applyPriceUpdates, EMPTY_FEED, FEED_PAGE_SIZE, latestAlerts, type PriceTicks } from './hub-state';
import { createFeedLoader } from './feed-loader';
import { Guard } from './Guard';
import { NotificationList } from './NotificationList';
import { PriceList } from './PriceList';

/** A rejection handler that logs what could not be done. */
export const warn = (what: string) => (error: unknown) => console.warn(`could not ${what}`, error);

/** What a host hands its hub client and calls itself. */
export interface HubViewWiring {
  /** For the client's `onUpdates`: folds prices, feed and alerts in; true when the batch changed the feed. */
  readonly onUpdates: (batch: readonly TopicUpdate[]) => boolean;
  /** Loads the feed and the alerts afresh: for `onReady`, and whenever what is stored may have grown. */
  readonly reload: () => void;
  /** Forgets the feed and the alerts: they were another user's. */
  readonly clear: () => void;
}

export interface HubViews<C extends HubClient = HubClient> {
  readonly hub: C;
  readonly feed: FeedPage;
  readonly prices: PriceTicks;
  readonly alerts: readonly AlertItem[];
  /** Forgets the feed and the alerts: they were another user's. */
  readonly clear: () => void;
}

/** Opens the hub client `connect` makes (once) and keeps the views' state from it. */
export function useHubViews<C extends HubClient>(connect: (wiring: HubViewWiring) => C): HubViews<C> {
  const [prices, setPrices] = useState<PriceTicks>(new Map());
  const [feed, setFeed] = useState<FeedPage>(EMPTY_FEED);
  const [alerts, setAlerts] = useState<readonly AlertItem[]>([]);
  /** Counts alert updates, so a snapshot older than an update that overtook it is dropped. */
  const alertVersion = useRef(0);

  const { hub, clear } = useMemo(() => {
    const feedLoader = createFeedLoader({
      fetch: () => client.api.feed(FEED_PAGE_SIZE),
      apply: (snapshot) => setFeed((page) => applyFeedSnapshot(page, snapshot)),
      onError: warn('load the feed'),
    });
    const wiring: HubViewWiring = {
      onUpdates: (batch) => {
        setPrices((current) => applyPriceUpdates(current, batch));
        const feedChanged = batch.some((update) => update.kind === 'feed');
        if (feedChanged) {
          feedLoader.noteUpdate();
          setFeed((page) => applyFeedUpdates(page, batch));
        }
        const latest = latestAlerts(batch);
        if (latest) {
          alertVersion.current += 1;
          setAlerts(latest);
        }
        return feedChanged;
      },
      reload: () => {
        feedLoader.load();
        const asked = alertVersion.current;
        client.api.alerts().then((list) => {
          if (alertVersion.current === asked) setAlerts(list);
        }, warn('load the alerts'));
      },
      clear: () => {
        setFeed(EMPTY_FEED);
        setAlerts([]);
      },
    };
    const client = connect(wiring);
    return { hub: client, clear: wiring.clear };
  }, []);

  useEffect(() => {
    hub.subscribe([topics.allPrices]).catch(warn('subscribe to prices'));
    return () => hub.close();
  }, [hub]);

  return { hub, feed, prices, alerts, clear };
}

/** A panel that could not be shown: its heading's words and one line, nothing of its data. */
const failedPanel = (name: string) => (
  <section class="panel-error">
    <h2>{name}</h2>
    <p class="error">{name} could not be shown.</p>
  </section>
);

/** The notification feed, the price list and the alerts, wired to the hub's calls, each behind its own `Guard`. */
export function HubPanels({ views: { hub, feed, prices, alerts } }: { readonly views: HubViews }) {
  const currentPrices = useMemo(() => new Map([...prices.values()].map((tick) => [tick.symbol, tick.price])), [prices]);
  return (
    <>
      <Guard what="the notifications" value={feed} fallback={failedPanel('Notifications')}>
        <NotificationList
          entries={feed.entries}
          unread={feed.unread}
          onMarkRead={(id) => void hub.api.markRead([id]).catch(warn('mark it read'))}
          onMarkAllRead={() => void hub.api.markAllRead().catch(warn('mark all read'))}
        />
      </Guard>
      <Guard what="the prices" value={prices} fallback={failedPanel('Prices')}>
        <PriceList prices={[...prices.values()]} />
      </Guard>
      <Guard what="the alerts" value={alerts} fallback={failedPanel('Alerts')}>
        <AlertsSection
          alerts={alerts}
          prices={currentPrices}
          pauseAlert={(id, paused) => hub.api.pauseAlert(id, paused)}
          deleteAlert={(id) => hub.api.deleteAlert(id)}
          createAlert={(rule) => hub.api.createAlert(rule)}
        />
      </Guard>
    </>
  );
}
