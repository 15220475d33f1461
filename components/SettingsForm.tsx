/**
 * The options form: server URL and access token, whether alerts may use system notifications, and
 * optional quiet hours; saved through the hub (which validates, stores and applies them at once).
 * Shows the hub's validation error, or `Saved`.
 */
import { useEffect, useState } from 'preact/hooks';
import { toErrorData, type Result } from '../lib/errors';
import type { QuietHours, Settings } from '../lib/rpc/settings';

export interface SettingsFormProps {
  /** The stored settings; `null` while they load, which keeps the form disabled. */
  readonly initial: Settings | null;
  readonly onSave: (settings: Settings) => Promise<Result<Settings>>;
}

type Phase = { readonly s: 'editing' } | { readonly s: 'saving' } | { readonly s: 'saved' } | { readonly s: 'failed'; readonly message: string };

export function SettingsForm({ initial, onSave }: SettingsFormProps) {
  const [serverUrl, setServerUrl] = useState('');
  const [token, setToken] = useState('');
  const [systemNotifications, setSystemNotifications] = useState(true);
  const [quietFrom, setQuietFrom] = useState('');
  const [quietTo, setQuietTo] = useState('');
  const [phase, setPhase] = useState<Phase>({ s: 'editing' });

  /** Puts stored settings in the fields. */
  function fill(settings: Settings): void {
    setServerUrl(settings.serverUrl);
    setToken(settings.token);
    setSystemNotifications(settings.systemNotifications ?? true);
    setQuietFrom(settings.quietHours?.start ?? '');
    setQuietTo(settings.quietHours?.end ?? '');
  }

  useEffect(() => {
    if (initial) fill(initial);
  }, [initial]);

  async function save(event: Event): Promise<void> {
    event.preventDefault();
    // Both times or neither: half a range means nothing.
    if ((quietFrom === '') !== (quietTo === '')) {
      setPhase({ s: 'failed', message: 'Set both quiet hours times, or neither' });
      return;
    }
    const quietHours: QuietHours | null = quietFrom === '' ? null : { start: quietFrom, end: quietTo };
    setPhase({ s: 'saving' });
    try {
      const result = await onSave({ serverUrl, token, systemNotifications, quietHours });
      if (result.ok) {
        fill(result.value);
        setPhase({ s: 'saved' });
      } else {
        setPhase({ s: 'failed', message: result.error.message });
      }
    } catch (error) {
      setPhase({ s: 'failed', message: toErrorData(error).message });
    }
  }

  const edit = (set: (value: string) => void) => (event: Event) => {
    set((event.currentTarget as HTMLInputElement).value);
    setPhase({ s: 'editing' });
  };

  return (
    <form class="settings" onSubmit={save} noValidate>
      <fieldset disabled={initial === null || phase.s === 'saving'}>
        <label for="server-url">Server URL</label>
        <input id="server-url" name="serverUrl" type="url" value={serverUrl} onInput={edit(setServerUrl)} spellcheck={false} />
        <label for="access-token">Access token</label>
        <input
          id="access-token"
          name="token"
          type="password"
          value={token}
          onInput={edit(setToken)}
          autocomplete="off"
          placeholder="Paste your access token"
          aria-describedby="access-token-hint"
        />
        <p id="access-token-hint" class="field-hint">
          Your server's admin mints one for you (<code>POST /api/tokens</code>). Without it the extension stays offline.
        </p>
        <div class="checkbox">
          <input
            id="system-notifications"
            name="systemNotifications"
            type="checkbox"
            checked={systemNotifications}
            onChange={(event) => {
              setSystemNotifications((event.currentTarget as HTMLInputElement).checked);
              setPhase({ s: 'editing' });
            }}
            aria-describedby="system-notifications-hint"
          />
          <label for="system-notifications">System notifications</label>
        </div>
        <p id="system-notifications-hint" class="field-hint">
          When an alert fires and no web page is in front (a new tab, the browser's own pages), show it as a system notification.
        </p>
        <div class="quiet-hours">
          <div>
            <label for="quiet-from">Quiet hours from</label>
            <input id="quiet-from" name="quietFrom" type="time" value={quietFrom} onInput={edit(setQuietFrom)} aria-describedby="quiet-hours-hint" />
          </div>
          <div>
            <label for="quiet-to">Quiet hours to</label>
            <input id="quiet-to" name="quietTo" type="time" value={quietTo} onInput={edit(setQuietTo)} aria-describedby="quiet-hours-hint" />
          </div>
        </div>
        <p id="quiet-hours-hint" class="field-hint">
          Optional. Between these times alerts show no overlay or system notification; they still arrive in the feed.
        </p>
        <button type="submit">Save</button>
      </fieldset>
      {phase.s === 'failed' && (
        <p class="error" role="alert">
          {phase.message}
        </p>
      )}
      {phase.s === 'saved' && (
        <p class="saved" aria-live="polite">
          Saved
        </p>
      )}
    </form>
  );
}
