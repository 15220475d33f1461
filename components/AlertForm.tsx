/**
 * The alert editor: labelled fields for a rule (the ones the chosen condition and repeat need are
 * shown, the others hidden), checked by `readAlertForm` before anything is queued; the error is
 * shown next to the form and the wrong field marked. `Create alert` hands the rule to the hub, which
 * queues it in its outbox (it works offline and shows as `pending sync` in the list).
 */
import { useState } from 'preact/hooks';
import { ALERT_CONDITIONS, type AlertCondition, type AlertRule } from '../lib/wire/alerts';
import { toErrorData, type Result } from '../lib/errors';
import { CONDITION_LABELS, EMPTY_ALERT_FORM, readAlertForm, type AlertField, type AlertFormFields } from './alert-form-model';
import { memo } from './memo';

export interface AlertFormProps {
  /** The symbols of the price list, offered while typing a symbol, sorted. */
  readonly symbols: readonly string[];
  /**
   * Current price per symbol (the price list), read when the form is sent to check thresholds. A
   * function, so a price tick does not render the form again.
   */
  readonly prices: () => ReadonlyMap<string, number>;
  readonly onCreate: (rule: AlertRule) => Promise<Result<{ readonly id: string }>>;
  /** Wall clock in ms. Default `Date.now`. */
  readonly now?: () => number;
}

type Phase =
  | { readonly s: 'editing' }
  | { readonly s: 'queueing' }
  | { readonly s: 'queued'; readonly text: string }
  | { readonly s: 'invalid'; readonly field: AlertField | null; readonly message: string };

const ERROR_ID = 'alert-form-error';

export const AlertForm = memo(function AlertForm({ symbols, prices, onCreate, now = Date.now }: AlertFormProps) {
  const [fields, setFields] = useState<AlertFormFields>(EMPTY_ALERT_FORM);
  const [phase, setPhase] = useState<Phase>({ s: 'editing' });

  const set = (field: AlertField) => (event: Event) => {
    const value = (event.currentTarget as HTMLInputElement | HTMLSelectElement).value;
    setFields((current) => ({ ...current, [field]: value }));
    setPhase({ s: 'editing' });
  };

  async function submit(event: Event): Promise<void> {
    event.preventDefault();
    const read = readAlertForm(fields, { prices: prices(), now: now() });
    if (!read.ok) {
      setPhase({ s: 'invalid', field: read.field, message: read.message });
      return;
    }
    setPhase({ s: 'queueing' });
    try {
      const result = await onCreate(read.rule);
      if (!result.ok) {
        setPhase({ s: 'invalid', field: null, message: result.error.message });
        return;
      }
      // Keep symbol and condition for the next alert on the same symbol; clear the rest.
      setFields((current) => ({ ...EMPTY_ALERT_FORM, symbol: current.symbol, condition: current.condition }));
      setPhase({ s: 'queued', text: `Queued: ${read.rule.symbol}` });
    } catch (error) {
      setPhase({ s: 'invalid', field: null, message: `Not queued: ${toErrorData(error).message}` });
    }
  }

  /** Props every input shares: id, value, and the error wiring when it is the wrong one. */
  const input = (field: AlertField) => {
    const wrong = phase.s === 'invalid' && phase.field === field;
    return {
      id: `alert-${field}`,
      name: field,
      value: fields[field],
      onInput: set(field),
      ...(wrong ? { 'aria-invalid': true as const, 'aria-describedby': ERROR_ID } : {}),
    };
  };

  const percentMove = fields.condition === 'percent-move';
  const recurring = fields.repeat === 'recurring';

  return (
    <form class="alert-form" onSubmit={submit} noValidate aria-label="New alert">
      <fieldset disabled={phase.s === 'queueing'}>
        <div class="field">
          <label for="alert-symbol">Symbol</label>
          <input {...input('symbol')} list="alert-symbols" autocomplete="off" spellcheck={false} autocapitalize="characters" placeholder="AAPL" />
          <datalist id="alert-symbols">
            {symbols.map((symbol) => (
              <option key={symbol} value={symbol} />
            ))}
          </datalist>
        </div>
        <div class="field">
          <label for="alert-condition">Condition</label>
          <select {...input('condition')} onChange={set('condition')}>
            {ALERT_CONDITIONS.map((condition: AlertCondition) => (
              <option key={condition} value={condition}>
                {CONDITION_LABELS[condition]}
              </option>
            ))}
          </select>
        </div>
        {!percentMove && (
          <div class="field">
            <label for="alert-price">Price</label>
            <input {...input('price')} inputMode="decimal" autocomplete="off" />
          </div>
        )}
        {percentMove && (
          <div class="field">
            <label for="alert-percent">Percent</label>
            <input {...input('percent')} inputMode="decimal" autocomplete="off" />
          </div>
        )}
        {percentMove && (
          <div class="field">
            <label for="alert-windowMinutes">Window (minutes)</label>
            <input {...input('windowMinutes')} inputMode="numeric" autocomplete="off" />
          </div>
        )}
        <div class="field">
          <label for="alert-repeat">Repeat</label>
          <select {...input('repeat')} onChange={set('repeat')}>
            <option value="once">once</option>
            <option value="recurring">recurring</option>
          </select>
        </div>
        {recurring && (
          <div class="field">
            <label for="alert-cooldownMinutes">Cooldown (minutes)</label>
            <input {...input('cooldownMinutes')} inputMode="numeric" autocomplete="off" />
          </div>
        )}
        <div class="field">
          <label for="alert-expires">Expires</label>
          <input {...input('expires')} type="datetime-local" />
        </div>
        <div class="field wide">
          <label for="alert-note">Note</label>
          <input {...input('note')} autocomplete="off" placeholder="Optional" />
        </div>
        <div class="actions wide">
          <button type="submit">Create alert</button>
          {phase.s === 'queued' && (
            <span class="saved" aria-live="polite">
              {phase.text}
            </span>
          )}
        </div>
      </fieldset>
      {phase.s === 'invalid' && (
        <p id={ERROR_ID} class="error" role="alert">
          {phase.message}
        </p>
      )}
    </form>
  );
});
