import { defineConfig } from 'wxt';
import preact from '@preact/preset-vite';

// Permissions are the fewest the features need; README explains each one.
export default defineConfig({
  vite: () => ({ plugins: [preact()] }),
  manifest: ({ browser }) => ({
    name: 'Switchboard',
    description: 'Live notifications and price alerts over one connection for every tab.',
    permissions: ['storage', 'alarms'],
    ...(browser === 'firefox'
      ? { browser_specific_settings: { gecko: { id: 'switchboard@switchboard.dev', strict_min_version: '115.0' } } }
      : {}),
  }),
});
