/**
 * The options form: server URL and access token, saved through the hub (which validates, stores
 * and applies them at once). Shows the hub's validation error, or `Saved`.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Result } from '../lib/errors';
import type { Settings } from '../lib/settings';

export interface SettingsFormProps {
  /** The stored settings; `null` while they load, which keeps the form disabled. */
  readonly initial: Settings | null;
  readonly onSave: (settings: Settings) => Promise<Result<Settings>>;
}

type Phase = { readonly s: 'editing' } | { readonly s: 'saving' } | { readonly s: 'saved' } | { readonly s: 'failed'; readonly message: string };

export function SettingsForm({ initial, onSave }: SettingsFormProps) {
  const [serverUrl, setServerUrl] = useState('');
  const [token, setToken] = useState('');
  const [phase, setPhase] = useState<Phase>({ s: 'editing' });

  useEffect(() => {
    if (!initial) return;
    setServerUrl(initial.serverUrl);
    setToken(initial.token);
  }, [initial]);

  async function save(event: Event): Promise<void> {
    event.preventDefault();
    setPhase({ s: 'saving' });
    try {
      const result = await onSave({ serverUrl, token });
      if (result.ok) {
        setServerUrl(result.value.serverUrl);
        setToken(result.value.token);
        setPhase({ s: 'saved' });
      } else {
        setPhase({ s: 'failed', message: result.error.message });
      }
    } catch (error) {
      setPhase({ s: 'failed', message: error instanceof Error ? error.message : String(error) });
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
