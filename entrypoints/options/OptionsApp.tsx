/** Wiring only: the settings form reads and saves through the hub, beside its status line. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { browser } from 'wxt/browser';
import { SettingsForm } from '@/components/SettingsForm';
import { StatusLine } from '@/components/StatusLine';
import { connectHub } from '@/lib/rpc/connect-hub';
import { toErrorData } from '@/lib/errors';
import type { HubStatus } from '@/lib/rpc/hub-api';
import type { Settings } from '@/lib/rpc/settings';

export function OptionsApp() {
  const [status, setStatus] = useState<HubStatus | null>(null);
  const [settings, setSettings] = useState<Settings | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const hub = useMemo(() => connectHub({ connect: (name) => browser.runtime.connect({ name }), onStatus: setStatus }), []);

  useEffect(() => {
    hub.api.getSettings().then(setSettings, (error: unknown) =>
      setLoadError(`Could not load the settings: ${toErrorData(error).message}`),
    );
    return () => hub.close();
  }, [hub]);

  return (
    <main class="options">
      <h1>Switchboard settings</h1>
      <StatusLine status={status} />
      {loadError && (
        <p class="error" role="alert">
          {loadError}
        </p>
      )}
      <SettingsForm initial={settings} onSave={(next) => hub.api.saveSettings(next)} />
    </main>
  );
}
