/**
 * Wiring only: the hub connection feeds the status line, the notification feed, the price list
 * and the alerts (list and form). The feed and the alerts are loaded on every (re)connection to the
 * hub and kept current by its updates (`useHubViews`).
 */
import { useState } from 'preact/hooks';
import { browser } from 'wxt/browser';
import { HubPanels, useHubViews, warn } from '@/components/hub-views';
import { StatusLine } from '@/components/StatusLine';
import { connectHub } from '@/lib/rpc/connect-hub';
import type { HubStatus } from '@/lib/rpc/hub-api';

export function PopupApp() {
  const [status, setStatus] = useState<HubStatus | null>(null);

  const views = useHubViews(({ onUpdates, reload, clear, frames }) =>
    connectHub({
      ...frames,
      connect: (name) => browser.runtime.connect({ name }),
      onStatus: setStatus,
      onUpdates,
      onReady: reload,
      onUserChange: clear,
    }),
  );

  const idle = status?.s === 'idle';
  const openOptions = () => void browser.runtime.openOptionsPage().catch(warn('open the options'));

  return (
    <main class="popup" aria-busy={!views.live}>
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
      <HubPanels views={views} />
    </main>
  );
}
