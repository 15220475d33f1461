/**
 * The alerts block both hosts show (popup and dashboard): the list, a line saying why a pause,
 * resume or delete was refused, and the form. The hub checks an alert id before queueing, so a
 * refusal comes back at once and is shown here; a create reports through the form itself. Memoised,
 * with callbacks that keep their identity, so it renders when the alerts or the symbols change, not
 * on every price tick.
 */
import { useCallback, useState } from 'preact/hooks';
import type { AlertRule } from '../lib/wire/alerts';
import { toErrorData, type Result } from '../lib/errors';
import type { AlertItem } from '../lib/rpc/hub-api';
import { AlertForm } from './AlertForm';
import { AlertList } from './AlertList';
import { memo } from './memo';

export interface AlertsSectionProps {
  readonly alerts: readonly AlertItem[];
  /** The symbols of the price list, sorted, for the form. */
  readonly symbols: readonly string[];
  /** Current price per symbol, for the form's sanity checks when it is sent. */
  readonly prices: () => ReadonlyMap<string, number>;
  readonly pauseAlert: (id: string, paused: boolean) => Promise<Result<null>>;
  readonly deleteAlert: (id: string) => Promise<Result<null>>;
  readonly createAlert: (rule: AlertRule) => Promise<Result<{ readonly id: string }>>;
}

export const AlertsSection = memo(function AlertsSection({ alerts, symbols, prices, pauseAlert, deleteAlert, createAlert }: AlertsSectionProps) {
  const [error, setError] = useState<string | null>(null);

  const queue = (what: string, queued: Promise<Result<null>>): void =>
    void queued.then(
      (result) => setError(result.ok ? null : `Could not ${what}: ${result.error.message}`),
      (failure: unknown) => setError(`Could not ${what}: ${toErrorData(failure).message}`),
    );
  const onPause = useCallback((id: string, paused: boolean) => queue(paused ? 'pause the alert' : 'resume the alert', pauseAlert(id, paused)), [pauseAlert]);
  const onDelete = useCallback((id: string) => queue('delete the alert', deleteAlert(id)), [deleteAlert]);

  return (
    <section class="alerts" aria-labelledby="alerts-heading">
      <h2 id="alerts-heading">Alerts</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <AlertList alerts={alerts} onPause={onPause} onDelete={onDelete} />
      <AlertForm symbols={symbols} prices={prices} onCreate={createAlert} />
    </section>
  );
});
