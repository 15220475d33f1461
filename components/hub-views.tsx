/**
 * What both hosts (popup and dashboard) show of the hub: the notification feed, the price list and
 * the alerts. `useHubViews` opens the host's hub client once, keeps the three from its updates and
 * reloads, subscribes to prices, tells the hub whether the page is shown, and closes the client with
 * the component; `HubPanels` renders them. Each host keeps only its own parts: how it connects, and
 * its sign-in, badge, title or banners.
 *
 * Rendering is what a view costs, so it renders little: updates come at most once per frame (the
 * host passes `frames` to its client), each panel is memoised on props that keep their identity
 * (callbacks made once per client, prices the alert form reads only when sent), and each list
 * re-renders only the rows whose data changed. A hidden page pauses its session and reloads what it
 * shows when it is shown again.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { AlertRule } from '../lib/wire/alerts';
import type { AlertItem, FeedPage, TopicUpdate } from '../lib/rpc/hub-api';
import type { HubClient } from '../lib/rpc/hub-client';
import type { PriceTick } from '../lib/wire/prices';
import { topics } from '../lib/wire/topics';
import { AlertsSection } from './AlertsSection';
import {
  applyFeedSnapshot,
  applyFeedUpdates,
  applyPriceUpdates,
  EMPTY_FEED,
  FEED_PAGE_SIZE,
  keepUnchangedAlerts,
  latestAlerts,
  type PriceTicks,
} from './hub-state';
import { createFeedLoader } from './feed-loader';
import { Guard } from './Guard';
import { memo } from './memo';
import { NotificationList } from './NotificationList';
import { BROWSER_PAGE, type ViewPage } from './page-frames';
import { PriceList } from './PriceList';

/** A rejection handler that logs what could not be done. */
export const warn = (what: string) => (error: unknown) => console.warn(`could not ${what}`, error);

/** What a host hands its hub client and calls itself. */
export interface HubViewWiring {
  /** For the client's `onUpdates`: folds prices, feed and alerts in; true when the batch changed the feed. */
  readonly onUpdates: (batch: readonly TopicUpdate[]) => boolean;
  /**
   * Loads the feed and the alerts afresh: for `onReady`, and whenever what is stored may have grown.
   * Resolves once both answered (a failure is logged, not thrown).
   */
  readonly reload: () => Promise<void>;
  /** Forgets the feed and the alerts: they were another user's. */
  readonly clear: () => void;
  /** For the client's options: updates once per frame of the page, at most every `minFrameIntervalMs`. */
  readonly frames: Pick<ViewPage, 'requestFrame' | 'minFrameIntervalMs' | 'ackBeforeFrameMs'>;
}

export interface HubViews<C extends HubClient = HubClient> {
  readonly hub: C;
  readonly feed: FeedPage;
  readonly prices: PriceTicks;
  readonly alerts: readonly AlertItem[];
  /**
   * False while the page is hidden (its session is paused, what it shows is not kept current) and
   * until it has caught up after being shown; hosts mark their main region `aria-busy` then.
   */
  readonly live: boolean;
  /** Forgets the feed and the alerts: they were another user's. */
  readonly clear: () => void;
}

/** Opens the hub client `connect` makes (once) and keeps the views' state from it. `page` defaults to the browser's. */
export function useHubViews<C extends HubClient>(connect: (wiring: HubViewWiring) => C, page: ViewPage = BROWSER_PAGE): HubViews<C> {
  const [prices, setPrices] = useState<PriceTicks>(new Map());
  const [feed, setFeed] = useState<FeedPage>(EMPTY_FEED);
  const [alerts, setAlerts] = useState<readonly AlertItem[]>([]);
  const [live, setLive] = useState(true);
  /** Counts alert updates, so a snapshot older than an update that overtook it is dropped. */
  const alertVersion = useRef(0);

  const { hub, clear, reload } = useMemo(() => {
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
          setAlerts((shown) => keepUnchangedAlerts(shown, latest));
        }
        return feedChanged;
      },
      reload: async () => {
        const feedLoaded = feedLoader.load();
        const asked = alertVersion.current;
        const alertsLoaded = client.api.alerts().then((list) => {
          if (alertVersion.current === asked) setAlerts((shown) => keepUnchangedAlerts(shown, list));
        }, warn('load the alerts'));
        await Promise.all([feedLoaded, alertsLoaded]);
      },
      clear: () => {
        setFeed(EMPTY_FEED);
        setAlerts([]);
      },
      frames: { requestFrame: page.requestFrame, minFrameIntervalMs: page.minFrameIntervalMs, ackBeforeFrameMs: page.ackBeforeFrameMs },
    };
    const client = connect(wiring);
    return { hub: client, clear: wiring.clear, reload: wiring.reload };
  }, []);

  useEffect(() => {
    hub.subscribe([topics.allPrices]).catch(warn('subscribe to prices'));
    return () => hub.close();
  }, [hub]);

  useEffect(() => {
    let shown = true;
    /** Counts visibility changes: only the reload after the latest showing may mark the view live. */
    let change = 0;
    return page.watchVisibility((visible) => {
      if (visible === shown) return;
      shown = visible;
      const mine = (change += 1);
      if (!visible) setLive(false);
      hub
        .setVisible(visible)
        // What changed while hidden was not sent: the state values come with the resume, the rest is reloaded.
        .then(() => (visible ? reload() : undefined))
        .catch(warn('tell the hub whether the page is shown'))
        .finally(() => {
          if (visible && change === mine) setLive(true);
        });
    });
  }, [hub]);

  return { hub, feed, prices, alerts, live, clear };
}

/** A panel that could not be shown: its heading's words and one line, nothing of its data. */
const failedPanel = (name: string) => (
  <section class="panel-error">
    <h2>{name}</h2>
    <p class="error">{name} could not be shown.</p>
  </section>
);

/** The hub calls the panels make, made once per client so memoised panels keep seeing the same props. */
function panelActions(hub: HubClient) {
  return {
    markRead: (id: string) => void hub.api.markRead([id]).catch(warn('mark it read')),
    markAllRead: () => void hub.api.markAllRead().catch(warn('mark all read')),
    pauseAlert: (id: string, paused: boolean) => hub.api.pauseAlert(id, paused),
    deleteAlert: (id: string) => hub.api.deleteAlert(id),
    createAlert: (rule: AlertRule) => hub.api.createAlert(rule),
  };
}

const FeedPanel = memo(function FeedPanel({ feed, actions }: { readonly feed: FeedPage; readonly actions: ReturnType<typeof panelActions> }) {
  return (
    <Guard what="the notifications" value={feed} fallback={failedPanel('Notifications')}>
      <NotificationList entries={feed.entries} unread={feed.unread} onMarkRead={actions.markRead} onMarkAllRead={actions.markAllRead} />
    </Guard>
  );
});

const PricesPanel = memo(function PricesPanel({ prices }: { readonly prices: PriceTicks }) {
  const ticks = useMemo((): readonly PriceTick[] => [...prices.values()], [prices]);
  return (
    <Guard what="the prices" value={prices} fallback={failedPanel('Prices')}>
      <PriceList prices={ticks} />
    </Guard>
  );
});

interface AlertsPanelProps {
  readonly alerts: readonly AlertItem[];
  readonly symbols: readonly string[];
  readonly prices: () => ReadonlyMap<string, number>;
  readonly actions: ReturnType<typeof panelActions>;
}

const AlertsPanel = memo(function AlertsPanel({ alerts, symbols, prices, actions }: AlertsPanelProps) {
  return (
    <Guard what="the alerts" value={alerts} fallback={failedPanel('Alerts')}>
      <AlertsSection
        alerts={alerts}
        symbols={symbols}
        prices={prices}
        pauseAlert={actions.pauseAlert}
        deleteAlert={actions.deleteAlert}
        createAlert={actions.createAlert}
      />
    </Guard>
  );
});

/** The sorted symbols of `prices`, the same array for as long as the set of symbols stays the same. */
function useSymbols(prices: PriceTicks): readonly string[] {
  const key = [...prices.keys()].sort().join('\n');
  return useMemo(() => (key === '' ? [] : key.split('\n')), [key]);
}

/** The notification feed, the price list and the alerts, wired to the hub's calls, each behind its own `Guard`. */
export function HubPanels({ views: { hub, feed, prices, alerts } }: { readonly views: HubViews }) {
  const actions = useMemo(() => panelActions(hub), [hub]);
  const latestPrices = useRef(prices);
  latestPrices.current = prices;
  const currentPrices = useMemo(() => () => new Map([...latestPrices.current.values()].map((tick) => [tick.symbol, tick.price])), []);
  const symbols = useSymbols(prices);
  return (
    <>
      <FeedPanel feed={feed} actions={actions} />
      <PricesPanel prices={prices} />
      <AlertsPanel alerts={alerts} symbols={symbols} prices={currentPrices} actions={actions} />
    </>
  );
}
