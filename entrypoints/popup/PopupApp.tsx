/**
 * Wiring only: the hub connection feeds the status line, the notification feed, the price list
 * and the alerts (list and form). The feed and the alerts are loaded on every (re)connection to the
 * hub and kept current by its updates.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { browser } from 'wxt/browser';
import { latestAlerts } from '@/components/alert-book';
import { AlertsSection } from '@/components/AlertsSection';
import { applyFeedSnapshot, applyFeedUpdates, EMPTY_FEED, FEED_PAGE_SIZE } from '@/components/feed-book';
import { createFeedLoader } from '@/components/feed-loader';
import { NotificationList } from '@/components/NotificationList';
import { watchOpenUser } from '@/components/open-user';
import { PriceList } from '@/components/PriceList';
import { applyPriceUpdates, type PriceBook } from '@/components/price-book';
import { StatusLine } from '@/components/StatusLine';
import { connectHub, type HubConnection } from '@/lib/connect-hub';
import type { AlertItem, FeedPage, HubStatus } from '@/lib/hub-api';

const warn = (what: string) => (error: unknown) => console.warn(`could not ${what}`, error);

export function PopupApp() {
  const [status, setStatus] = useState<HubStatus | null>(null);
  const [prices, setPrices] = useState<PriceBook>(new Map());
  const [feed, setFeed] = useState<FeedPage>(EMPTY_FEED);
  const [alerts, setAlerts] = useState<readonly AlertItem[]>([]);
  /** Counts alert updates, so a snapshot older than an update that overtook it is dropped. */
  const alertVersion = useRef(0);

  const hub = useMemo<HubConnection>(() => {
    const userChange = watchOpenUser(() => {
      setFeed(EMPTY_FEED);
      setAlerts([]);
    });
    const feedLoader = createFeedLoader({
      fetch: () => connection.api.feed(FEED_PAGE_SIZE),
      apply: (snapshot) => setFeed((page) => applyFeedSnapshot(page, snapshot)),
      onError: warn('load the feed'),
    });
    const connection = connectHub({
      connect: (name) => browser.runtime.connect({ name }),
      onStatus: (next) => {
        userChange(next);
        setStatus(next);
      },
      onUpdates: (batch) => {
        setPrices((book) => applyPriceUpdates(book, batch));
        if (batch.some((update) => update.kind === 'feed')) {
          feedLoader.noteUpdate();
          setFeed((page) => applyFeedUpdates(page, batch));
        }
        const latest = latestAlerts(batch);
        if (latest) {
          alertVersion.current += 1;
          setAlerts(latest);
        }
      },
      onReady: () => {
        feedLoader.load();
        const asked = alertVersion.current;
        connection.api.alerts().then((list) => {
          if (alertVersion.current === asked) setAlerts(list);
        }, warn('load the alerts'));
      },
    });
    return connection;
  }, []);

  useEffect(() => {
    hub.subscribe(['prices:*']).catch(warn('subscribe to prices'));
    return () => hub.close();
  }, [hub]);

  const currentPrices = useMemo(() => new Map([...prices.values()].map((tick) => [tick.symbol, tick.price])), [prices]);
  const idle = status?.s === 'idle';
  const openOptions = () => void browser.runtime.openOptionsPage().catch(warn('open the options'));

  return (
    <main class="popup">
      <header class="popup-head">
        <h1>Switchboard</h1>
        <nav class="jump" aria-label="Sections">
          <a href="#notifications-heading">Notifications</a>
          <a href="#prices-heading">Prices</a>
          <a href="#alerts-heading">Alerts</a>
        </nav>
        {!idle && (
          <button type="button" class="link-button" onClick={openOptions}>
            Options
          </button>
        )}
      </header>
      <StatusLine status={status} />
      {idle && (
        <p class="hint">
          Enter your server and access token in the options to connect.{' '}
          <button type="button" class="link-button" onClick={openOptions}>
            Open Options
          </button>
        </p>
      )}
      <NotificationList
        entries={feed.entries}
        unread={feed.unread}
        onMarkRead={(id) => void hub.api.markRead([id]).catch(warn('mark it read'))}
        onMarkAllRead={() => void hub.api.markAllRead().catch(warn('mark all read'))}
      />
      <PriceList prices={[...prices.values()]} />
      <AlertsSection
        alerts={alerts}
        prices={currentPrices}
        pauseAlert={(id, paused) => hub.api.pauseAlert(id, paused)}
        deleteAlert={(id) => hub.api.deleteAlert(id)}
        createAlert={(rule) => hub.api.createAlert(rule)}
      />
    </main>
  );
}
