/**
 * Fired alerts the hub asked this tab to show, as banners in the page's corner, newest on top, each
 * the shared `AlertOverlay` (text only, Dismiss / Snooze). Dismissing one here dismisses it in
 * every tab and marks its notifications read.
 */
import { AlertOverlay } from '@/components/AlertOverlay';
import type { OverlayItem } from '@/lib/rpc/hub-api';

export interface BannersProps {
  readonly items: readonly OverlayItem[];
  readonly onDismiss: (id: string) => void;
  readonly onSnooze: (id: string, minutes: number) => void;
}

export function Banners({ items, onDismiss, onSnooze }: BannersProps) {
  if (items.length === 0) return null;
  return (
    <aside class="banners" aria-label="Alerts fired">
      {[...items].reverse().map((item) => (
        <AlertOverlay key={item.id} item={item} onDismiss={() => onDismiss(item.id)} onSnooze={(minutes) => onSnooze(item.id, minutes)} />
      ))}
    </aside>
  );
}
