/**
 * The user's settings in the extension's `storage.local`: read and written for the hub (its
 * `SettingsStore`), and watched, so a change saved by any extension page reaches the hub at once.
 */
import { browser } from 'wxt/browser';
import { DEFAULT_SETTINGS, parseSettings, type Settings } from '../../../lib/rpc/settings';
import type { SettingsStore } from '../../core/platform';

/** The `storage.local` key that holds the user's `Settings`. */
export const SETTINGS_KEY = 'settings';

/** The stored settings, or the defaults when there are none or they are unreadable. */
export const storageSettings: SettingsStore = {
  async load() {
    const stored = await browser.storage.local.get(SETTINGS_KEY);
    const parsed = parseSettings(stored[SETTINGS_KEY]);
    return parsed.ok ? parsed.value : DEFAULT_SETTINGS;
  },
  async save(settings: Settings) {
    await browser.storage.local.set({ [SETTINGS_KEY]: settings });
  },
};

/** Calls back with every valid settings value written to `storage.local` (removed: the defaults). */
export function watchStoredSettings(onChange: (settings: Settings) => void): void {
  browser.storage.onChanged.addListener((changes, area) => {
    const change = changes[SETTINGS_KEY];
    if (area !== 'local' || !change) return;
    const parsed = parseSettings(change.newValue ?? DEFAULT_SETTINGS);
    if (parsed.ok) onChange(parsed.value);
  });
}
