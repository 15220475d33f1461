/**
 * Wiring only: the overlay frame asks the hub for the text of overlay `id` and shows it; Dismiss
 * and Snooze go back to the hub, which hides the overlay in every tab. When there is nothing to
 * show (dismissed meanwhile, or an id the hub does not know) the background removes this frame.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { browser } from 'wxt/browser';
import { AlertOverlay } from '@/components/AlertOverlay';
import { connectHub } from '@/lib/rpc/connect-hub';
import type { OverlayItem } from '@/lib/rpc/hub-api';
import { isOverlayId, type OverlayGoneMessage } from '@/lib/rpc/overlay-messages';

type View = { readonly s: 'loading' } | { readonly s: 'shown'; readonly item: OverlayItem; readonly busy: boolean } | { readonly s: 'gone' };

function gone(id: string): void {
  const message: OverlayGoneMessage = { type: 'switchboard:overlay-gone', id };
  void browser.runtime.sendMessage(message).catch(() => {});
}

export function OverlayApp({ id }: { readonly id: string | null }) {
  const [view, setView] = useState<View>({ s: 'loading' });
  const hub = useMemo(() => connectHub({ connect: (name) => browser.runtime.connect({ name }) }), []);

  useEffect(() => {
    if (!isOverlayId(id)) {
      setView({ s: 'gone' });
      return () => hub.close();
    }
    hub.api.overlay(id).then(
      (item) => {
        if (item) setView({ s: 'shown', item, busy: false });
        else {
          setView({ s: 'gone' });
          gone(id);
        }
      },
      () => {
        setView({ s: 'gone' });
        gone(id);
      },
    );
    return () => hub.close();
  }, [hub, id]);

  if (view.s !== 'shown' || id === null) return null;
  const dismiss = (snoozeMinutes?: number) => {
    setView({ ...view, busy: true });
    hub.api.dismissOverlay(id, snoozeMinutes).then(
      // The hub tells every tab to remove its frame; this one also asks for its own, in case.
      () => gone(id),
      () => setView({ ...view, busy: false }),
    );
  };
  return <AlertOverlay item={view.item} busy={view.busy} onDismiss={() => dismiss()} onSnooze={(minutes) => dismiss(minutes)} />;
}
