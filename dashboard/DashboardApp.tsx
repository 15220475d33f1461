/**
 * Wiring only, as the popup: the shared hub feeds the status line, the notification feed, the
 * price list and the alerts, laid out in columns. Until the hub holds a working token the sign-in
 * form takes their place (see `./sign-in-state`). The feed and the alerts are reloaded on every
 * (re)connection to the hub and whenever it opens a socket, and the unread count goes in the title.
 * A fired alert shows as a banner in the tab the user is looking at (the hub picks it).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { HubPanels, useHubViews, warn } from '@/components/hub-views';
import { SignInForm } from '@/components/SignInForm';
import { StatusLine } from '@/components/StatusLine';
import { connectSharedHub } from '@/lib/rpc/connect-shared-hub';
import { toErrorData, type Result } from '@/lib/errors';
import type { HubStatus, OverlayItem } from '@/lib/rpc/hub-api';
import { Banners } from './Banners';
import { createFeedSync } from './feed-sync';
import { watchDocumentFocus } from './focus';
import { hubIsShared, openHubPort } from './hub-port';
import { screenOf, signInSettled, type SignInPhase } from './sign-in-state';

const TITLE = 'Switchboard';
/** The hub is idle only without a token; its own words for that point to the extension's Options. */
const NOT_SIGNED_IN: HubStatus = { s: 'idle', reason: 'not signed in' };

export function DashboardApp() {
  const [status, setStatus] = useState<HubStatus | null>(null);
  const [phase, setPhase] = useState<SignInPhase>({ s: 'none' });
  const [banners, setBanners] = useState<readonly OverlayItem[]>([]);
  const statusRef = useRef<HubStatus | null>(null);

  const views = useHubViews(({ onUpdates, reload, clear, frames }) => {
    const sync = hubIsShared ? null : createFeedSync(reload);
    const client = connectSharedHub({
      ...frames,
      openPort: openHubPort,
      ...(typeof navigator.locks === 'object' ? { locks: navigator.locks } : {}),
      onUserChange: () => {
        clear();
        setBanners([]);
      },
      onStatus: (next) => {
        const wasOpen = statusRef.current?.s === 'open';
        statusRef.current = next;
        setStatus(next);
        // A socket opened (signed in, or back after an outage): what is stored may have grown.
        if (next.s === 'open' && !wasOpen) reload();
      },
      onUpdates: (batch) => {
        if (onUpdates(batch)) sync?.announce();
      },
      onReady: reload,
      watchFocus: watchDocumentFocus,
      onOverlay: (id) => {
        client.api.overlay(id).then((item) => {
          if (item) setBanners((shown) => [...shown.filter((other) => other.id !== id), item]);
        }, warn('load an alert'));
      },
      onOverlayHide: (id) => setBanners((shown) => shown.filter((item) => item.id !== id)),
    });
    if (!sync) return client;
    return {
      ...client,
      close() {
        sync.close();
        client.close();
      },
    };
  });
  const { hub, feed } = views;

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
      setPhase({ s: 'failed', message: `Could not sign in: ${toErrorData(error).message}` });
    }
  }

  function signOut(): void {
    // What this user saw must not stay on screen for whoever signs in next.
    views.clear();
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

  return (
    <main class="dashboard" aria-busy={!views.live}>
      <header class="dashboard-head">
        <h1>Switchboard</h1>
        <StatusLine status={status?.s === 'idle' ? NOT_SIGNED_IN : status} host="dashboard" />
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
          <HubPanels views={views} />
        </div>
      )}
    </main>
  );
}
