/**
 * Wiring only: the hub connection feeds the status line, the notification feed and the price list.
 * The feed is loaded on every (re)connection to the hub and kept current by its `FeedUpdate`s.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { browser } from 'wxt/browser';
import { applyFeedSnapshot, applyFeedUpdates, EMPTY_FEED, FEED_PAGE_SIZE } from '@/components/feed-book';
import { NotificationList } from '@/components/NotificationList';
import { PriceList } from '@/components/PriceList';
import { applyPriceUpdates, type PriceBook } from '@/components/price-book';
import { StatusLine } from '@/components/StatusLine';
import { connectHub, type HubConnection } from '@/lib/connect-hub';
import type { FeedPage, HubStatus } from '@/lib/hub-api';

const warn = (what: string) => (error: unknown) => console.warn(`could not ${what}`, error);

export function PopupApp() {
  const [status, setStatus] = useState<HubStatus | null>(null);
  const [prices, setPrices] = useState<PriceBook>(new Map());
  const [feed, setFeed] = useState<FeedPage>(EMPTY_FEED);

  const hub = useMemo<HubConnection>(() => {
    const connection = connectHub({
      connect: (name) => browser.runtime.connect({ name }),
      onStatus: setStatus,
      onUpdates: (batch) => {
        setPrices((book) => applyPriceUpdates(book, batch));
        setFeed((page) => applyFeedUpdates(page, batch));
      },
      onReady: () => {
        connection.api.feed(FEED_PAGE_SIZE).then((snapshot) => setFeed((page) => applyFeedSnapshot(page, snapshot)), warn('load the feed'));
      },
    });
    return connection;
  }, []);

  useEffect(() => {
    hub.subscribe(['prices:*']).catch(warn('subscribe to prices'));
    return () => hub.close();
  }, [hub]);

  const idle = status?.s === 'idle';
  const openOptions = () => void browser.runtime.openOptionsPage().catch(warn('open the options'));

  return (
    <main class="popup">
      <header class="popup-head">
        <h1>Switchboard</h1>
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
    </main>
  );
}
