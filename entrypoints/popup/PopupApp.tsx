/** Wiring only: the hub connection feeds the status line and the price list. */
import { useEffect, useState } from 'preact/hooks';
import { browser } from 'wxt/browser';
import { PriceList } from '@/components/PriceList';
import { applyPriceUpdates, type PriceBook } from '@/components/price-book';
import { StatusLine } from '@/components/StatusLine';
import { connectHub } from '@/lib/connect-hub';
import type { HubStatus } from '@/lib/hub-api';

export function PopupApp() {
  const [status, setStatus] = useState<HubStatus | null>(null);
  const [prices, setPrices] = useState<PriceBook>(new Map());

  useEffect(() => {
    const hub = connectHub({
      connect: (name) => browser.runtime.connect({ name }),
      onStatus: setStatus,
      onUpdates: (batch) => setPrices((book) => applyPriceUpdates(book, batch)),
    });
    hub.subscribe(['prices:*']).catch((error: unknown) => console.warn('could not subscribe to prices', error));
    return () => hub.close();
  }, []);

  return (
    <main class="popup">
      <h1>Switchboard</h1>
      <StatusLine status={status} />
      <PriceList prices={[...prices.values()]} />
    </main>
  );
}
