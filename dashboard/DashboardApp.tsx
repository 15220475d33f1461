/**
 * Wiring only, as the popup: the shared hub feeds the status line, the notification feed, the
 * price list and the alerts, laid out in columns. Until the hub holds a working token the sign-in
 * form takes their place (see `./sign-in-state`). The feed and the alerts are reloaded on every
 * (re)connection to the hub and whenever it opens a socket, and the unread count goes in the title.
 * A fired alert shows as a banner in the tab the user is looking at (the hub picks it).
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { latestAlerts } from '@/components/alert-book';
import { AlertsSection } from '@/components/AlertsSection';
import { applyFeedSnapshot, applyFeedUpdates, EMPTY_FEED, FEED_PAGE_SIZE } from '@/components/feed-book';
import { createFeedLoader } from '@/components/feed-loader';
import { NotificationList } from '@/components/NotificationList';
import { watchOpenUser } from '@/components/open-user';
import { PriceList } from '@/components/PriceList';
import { applyPriceUpdates, type PriceBook } from '@/components/price-book';
import { SignInForm } from '@/components/SignInForm';
import { StatusLine } from '@/components/StatusLine';
import { connectSharedHub } from '@/lib/connect-shared-hub';
import type { HubConnection } from '@/lib/hub-client';
import type { Result } from '@/lib/errors';
import type { AlertItem, FeedPage, HubStatus, OverlayItem } from '@/lib/hub-api';
import { Banners } from './Banners';
import { createFeedSync } from './feed-sync';
import { watchDocumentFocus } from './focus';
import { hubIsShared, openHubPort } from './hub-port';
import { screenOf, signInSettled, type SignInPhase } from './sign-in-state';

const TITLE = 'Switchboard';
/** The hub is idle only without a token; its own words for that point to the extension's Options. */
const NOT_SIGNED_IN: HubStatus = { s: 'idle', reason: 'not signed in' };
const warn = (what: string) => (error: unknown) => console.warn(`could not ${what}`, error);
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export function DashboardApp() {
  const [status, setStatus] = useState<HubStatus | null>(null);
  const [prices, setPrices] = useState<PriceBook>(new Map());
  const [feed, setFeed] = useState<FeedPage>(EMPTY_FEED);
  const [alerts, setAlerts] = useState<readonly AlertItem[]>([]);
  const [phase, setPhase] = useState<SignInPhase>({ s: 'none' });
  const [banners, setBanners] = useState<readonly OverlayItem[]>([]);
  /** Counts alert updates, so a snapshot older than an update that overtook it is dropped. */
  const alertVersion = useRef(0);
  /** Counts feed updates, so a snapshot that an update overtook is asked for again. */
  const statusRef = useRef<HubStatus | null>(null);

  const hub = useMemo<HubConnection>(() => {
    const feedLoader = createFeedLoader({
      fetch: () => connection.api.feed(FEED_PAGE_SIZE),
      apply: (snapshot) => setFeed((page) => applyFeedSnapshot(page, snapshot)),
      onError: warn('load the feed'),
    });
    const loadFeed = (): void => feedLoader.load();
    const reload = (): void => {
      loadFeed();
      const asked = alertVersion.current;
      connection.api.alerts().then((list) => {
        if (alertVersion.current === asked) setAlerts(list);
      }, warn('load the alerts'));
    };
    const sync = hubIsShared ? null : createFeedSync(reload);
    const userChange = watchOpenUser(() => {
      setFeed(EMPTY_FEED);
      setAlerts([]);
      setBanners([]);
    });
    const connection = connectSharedHub({
      openPort: openHubPort,
      ...(typeof navigator.locks === 'object' ? { locks: navigator.locks } : {}),
      onStatus: (next) => {
        userChange(next);
        const wasOpen = statusRef.current?.s === 'open';
        statusRef.current = next;
        setStatus(next);
        // A socket opened (signed in, or back after an outage): what is stored may have grown.
        if (next.s === 'open' && !wasOpen) reload();
      },
      onUpdates: (batch) => {
        setPrices((book) => applyPriceUpdates(book, batch));
        if (batch.some((update) => update.kind === 'feed')) {
          feedLoader.noteUpdate();
          setFeed((page) => applyFeedUpdates(page, batch));
          sync?.announce();
        }
        const latest = latestAlerts(batch);
        if (latest) {
          alertVersion.current += 1;
          setAlerts(latest);
        }
      },
      onReady: reload,
      watchFocus: watchDocumentFocus,
      onOverlay: (id) => {
        connection.api.overlay(id).then((item) => {
          if (item) setBanners((shown) => [...shown.filter((other) => other.id !== id), item]);
        }, warn('load an alert'));
      },
      onOverlayHide: (id) => setBanners((shown) => shown.filter((item) => item.id !== id)),
    });
    if (!sync) return connection;
    return {
      ...connection,
      close() {
        sync.close();
        connection.close();
      },
    };
  }, []);

  useEffect(() => {
    hub.subscribe(['prices:*']).catch(warn('subscribe to prices'));
    return () => hub.close();
  }, [hub]);

  useEffect(() => {
    if (signInSettled(phase, status)) setPhase({ s: 'none' });
  }, [phase, status]);

  useEffect(() => {
    document.title = feed.unread > 0 ? `(${feed.unread}) ${TITLE}` : TITLE;
  }, [feed.unread]);

  async function saveToken(token: string): Promise<void> {
    const after = statusRef.current;
    setPhase({ s: 'saving' });
    try {
      const current = await hub.api.getSettings();
      const saved: Result<unknown> = await hub.api.saveSettings({ ...current, token });
      setPhase(saved.ok ? { s: 'connecting', after } : { s: 'failed', message: saved.error.message });
    } catch (error) {
      setPhase({ s: 'failed', message: `Could not sign in: ${messageOf(error)}` });
    }
  }

  function signOut(): void {
    // What this user saw must not stay on screen for whoever signs in next.
    setFeed(EMPTY_FEED);
    setAlerts([]);
    setBanners([]);
    setPhase({ s: 'none' });
    hub.api
      .getSettings()
      .then((current) => hub.api.saveSettings({ ...current, token: '' }))
      .then((saved) => {
        if (!saved.ok) setPhase({ s: 'failed', message: `Could not sign out: ${saved.error.message}` });
      }, warn('sign out'));
  }

  function dismiss(id: string, snoozeMinutes?: number): void {
    setBanners((shown) => shown.filter((item) => item.id !== id));
    hub.api.dismissOverlay(id, snoozeMinutes).catch(warn('dismiss the alert'));
  }

  const screen = screenOf(status, phase);
  const currentPrices = useMemo(() => new Map([...prices.values()].map((tick) => [tick.symbol, tick.price])), [prices]);

  return (
    <main class="dashboard">
      <header class="dashboard-head">
        <h1>Switchboard</h1>
        <StatusLine status={status?.s === 'idle' ? NOT_SIGNED_IN : status} />
        {screen.s === 'dashboard' && (
          <button type="button" class="link-button sign-out" onClick={signOut}>
            Sign out
          </button>
        )}
      </header>
      {screen.s === 'dashboard' && <Banners items={banners} onDismiss={(id) => dismiss(id)} onSnooze={(id, minutes) => dismiss(id, minutes)} />}
      {screen.s === 'sign-in' && <SignInForm busy={screen.busy} error={screen.error} onSignIn={(token) => void saveToken(token)} />}
      {screen.s === 'dashboard' && (
        <div class="columns">
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
        </div>
      )}
    </main>
  );
}
