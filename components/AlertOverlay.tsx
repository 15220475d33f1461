/**
 * An alert overlay's content, shown inside the extension-origin frame a tab's content script
 * mounts: `role="alert"` with the title and body as text (they come from whoever published the
 * notification, so never as markup), and Dismiss / Snooze. Dismissing or snoozing it here dismisses
 * it in every tab; the host then removes the frame. An item it cannot show (behind a `Guard`) still
 * gets a Dismiss button, so the frame or banner can go.
 */
import { useId } from 'preact/hooks';
import type { OverlayItem } from '../lib/rpc/hub-api';
import { formatTime, isoTime } from './format';
import { Guard } from './Guard';

/** How long `Snooze` hides an overlay. */
export const SNOOZE_MINUTES = 10;

export interface AlertOverlayProps {
  readonly item: OverlayItem;
  readonly onDismiss: () => void;
  readonly onSnooze: (minutes: number) => void;
  /** Set while a dismiss is on its way, which disables the buttons. */
  readonly busy?: boolean;
  /** Wall clock in ms. Default `Date.now`. */
  readonly now?: () => number;
}

const KIND_LABELS: Readonly<Record<OverlayItem['kind'], string>> = {
  alert: 'Price alert',
  notification: 'Notification',
  summary: 'While you were away',
};

export function AlertOverlay(props: AlertOverlayProps) {
  const fallback = (
    <div role="alert" class="overlay overlay-error">
      <p class="overlay-title">An alert arrived that could not be shown.</p>
      <div class="overlay-actions">
        <button type="button" class="dismiss" onClick={props.onDismiss} disabled={props.busy}>
          Dismiss
        </button>
      </div>
    </div>
  );
  return (
    <Guard what="an alert overlay" value={props.item} fallback={fallback}>
      <OverlayContent {...props} />
    </Guard>
  );
}

function OverlayContent({ item, onDismiss, onSnooze, busy = false, now = Date.now }: AlertOverlayProps) {
  // Unique per instance: the dashboard shows several banners in one document.
  const titleId = useId();
  return (
    <div role="alert" class={`overlay level-${item.level} kind-${item.kind}`} aria-labelledby={titleId}>
      <div class="overlay-head">
        <span class="overlay-kind">{KIND_LABELS[item.kind]}</span>
        <time class="time" dateTime={isoTime(item.at)}>
          {formatTime(item.at, now())}
        </time>
      </div>
      <p id={titleId} class="overlay-title">
        {item.title}
      </p>
      {item.body !== '' && <p class="overlay-body">{item.body}</p>}
      <div class="overlay-actions">
        <button type="button" class="dismiss" onClick={onDismiss} disabled={busy}>
          Dismiss
        </button>
        <button type="button" class="snooze" onClick={() => onSnooze(SNOOZE_MINUTES)} disabled={busy}>
          Snooze {SNOOZE_MINUTES} min
        </button>
      </div>
    </div>
  );
}
