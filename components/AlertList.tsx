/**
 * The user's alerts, newest first, each with its rule in words (`describeRule`), its state — a
 * create still in the outbox reads `Pending sync`, a refused one `Failed` with the server's reason —
 * and Pause / Resume and Delete. The note is the user's own text and rendered as text only. Each
 * row renders behind its own `Guard`, keyed by id and memoised on its item (and the day, for how
 * times read), so a new list from the hub re-renders only the alerts that changed.
 */
import { describeRule } from '../lib/wire/alerts';
import type { AlertItem, AlertItemState } from '../lib/rpc/hub-api';
import { formatPrice, formatTime, startOfDay } from './format';
import { Guard } from './Guard';
import { memo } from './memo';

export interface AlertListProps {
  readonly alerts: readonly AlertItem[];
  readonly onPause: (id: string, paused: boolean) => void;
  readonly onDelete: (id: string) => void;
  /** Wall clock in ms. Default `Date.now`. */
  readonly now?: () => number;
}

export const STATE_LABELS: Readonly<Record<AlertItemState, string>> = {
  'pending sync': 'Pending sync',
  active: 'Active',
  paused: 'Paused',
  fired: 'Fired',
  expired: 'Expired',
  failed: 'Failed',
};

const stateClass = (state: AlertItemState): string => `state-${state.replace(' ', '-')}`;

/** `once`, `every 30 min at most`, and the expiry if any, e.g. `once · until Mar 3, 14:05`. */
export function describeSchedule(item: AlertItem, now: number): string {
  const { rule } = item;
  const parts = [rule.repeat === 'recurring' ? `recurring, ${rule.cooldownMinutes} min cooldown` : 'once'];
  if (rule.expiresAt !== undefined) parts.push(`until ${formatTime(rule.expiresAt, now)}`);
  return parts.join(' · ');
}

function AlertRow({ item, now, onPause, onDelete }: { readonly item: AlertItem; readonly now: number } & Omit<AlertListProps, 'alerts' | 'now'>) {
  const label = STATE_LABELS[item.state];
  return (
    <li class={`alert ${stateClass(item.state)}`} data-id={item.id} data-state={item.state}>
      <div class="alert-head">
        <span class="rule">{describeRule(item.rule)}</span>
        <span class="state">{label}</span>
      </div>
      {item.state === 'failed' && item.reason !== undefined && <p class="reason">{item.reason}</p>}
      {item.firedAt !== undefined && (
        <p class="fired">{`Fired${item.firedPrice === undefined ? '' : ` at ${formatPrice(item.firedPrice)}`} · ${formatTime(item.firedAt, now)}`}</p>
      )}
      <p class="schedule">{describeSchedule(item, now)}</p>
      {item.rule.note !== undefined && item.rule.note !== '' && <p class="note">{item.rule.note}</p>}
      <div class="alert-actions">
        {item.state === 'active' && (
          <button type="button" onClick={() => onPause(item.id, true)}>
            Pause
          </button>
        )}
        {item.state === 'paused' && (
          <button type="button" onClick={() => onPause(item.id, false)}>
            Resume
          </button>
        )}
        <button type="button" class="delete" onClick={() => onDelete(item.id)}>
          Delete
        </button>
      </div>
    </li>
  );
}

type RowProps = { readonly item: AlertItem; readonly now: number } & Omit<AlertListProps, 'alerts' | 'now'>;

/** One row behind its `Guard`, rendered again only when its item, the day or a callback changed. */
const GuardedAlertRow = memo(function GuardedAlertRow(props: RowProps) {
  return (
    <Guard what="an alert" value={props.item} fallback={<li class="alert alert-error">This alert could not be shown.</li>}>
      <AlertRow {...props} />
    </Guard>
  );
});

export const AlertList = memo(function AlertList({ alerts, onPause, onDelete, now = Date.now }: AlertListProps) {
  const day = startOfDay(now());
  return (
    <>
      <ul aria-label="Alerts" class="alert-list">
        {alerts.map((item) => (
          <GuardedAlertRow key={item.id} item={item} now={day} onPause={onPause} onDelete={onDelete} />
        ))}
      </ul>
      {alerts.length === 0 && <p class="empty">No alerts yet.</p>}
    </>
  );
});
