/**
 * Renders README's screenshots from the real builds: starts a server with the simulator, points the
 * extension at it through the options page, publishes a few notifications, creates two alerts
 * through the popup's form and captures the popup at its real width (docs/popup.png); then signs in
 * to the web dashboard the same server serves, as the same user, and captures it on a wide viewport
 * (docs/dashboard.png). `npm run screenshot` after `npm run build && npm run build:dashboard`.
 */
import { mkdirSync } from 'node:fs';
import { launchChromiumWithExtension } from '../test/support/chromium';
import { PopupPage } from '../test/support/pages/popup';
import { spawnServerProcess } from '../test/support/server';

const out = process.argv[2] ?? 'docs/popup.png';
const dashboardOut = process.argv[3] ?? 'docs/dashboard.png';
const server = await spawnServerProcess({ env: { SIMULATOR: 'on', SIMULATOR_RATE: '20' } });
const browser = await launchChromiumWithExtension();
try {
  const token = await server.mintToken('dev');
  const options = await browser.openExtensionPage('options.html');
  await options.getByLabel('Server URL').fill(server.url);
  await options.getByLabel('Access token').fill(token);
  await options.getByRole('button', { name: 'Save' }).click();
  await options.close();

  const notifications = [
    { title: 'Deploy finished', body: 'api-gateway 2.14.0 is live in all regions.', level: 'info' as const },
    { title: 'Disk almost full', body: 'db-3 is at 91% — consider pruning old snapshots.', level: 'warning' as const },
    { title: 'NVDA above 140', body: 'Your alert fired at 140.12.', level: 'high' as const },
  ];
  for (const n of notifications) await server.publishNotification('dev', n);

  const view = await PopupPage.open(browser);
  const popup = view.page;
  await popup.setViewportSize({ width: 380, height: 640 });
  // Far from the simulator's prices, so they stay active while the shot is taken.
  await view.createAlert({ symbol: 'AAPL', condition: 'above', price: '400' });
  await view.createAlert({ symbol: 'BTC-USD', condition: 'below', price: '30000', repeat: 'recurring', cooldownMinutes: '60' });
  await popup.getByRole('list', { name: 'Alerts' }).getByText('Active').nth(1).waitFor();
  await popup.getByText('Connected').first().waitFor();
  await popup.getByRole('list', { name: 'Prices' }).getByRole('listitem').nth(5).waitFor();
  await popup.getByRole('list', { name: 'Notifications' }).getByRole('listitem').nth(2).waitFor();
  // Let a few ticks arrive so the up/down marks show.
  await popup.waitForFunction(() => document.querySelectorAll('[aria-label="Prices"] .up, [aria-label="Prices"] .down').length >= 3);
  mkdirSync('docs', { recursive: true });
  await popup.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);

  const dashboard = await browser.context.newPage();
  await dashboard.setViewportSize({ width: 1200, height: 800 });
  await dashboard.goto(`${server.url}/`);
  await dashboard.getByLabel('Access token').fill(token);
  await dashboard.getByRole('button', { name: 'Sign in' }).click();
  await dashboard.getByRole('status').filter({ hasText: 'Connected' }).waitFor();
  await dashboard.getByRole('list', { name: 'Alerts' }).getByText('Active').nth(1).waitFor();
  await dashboard.getByRole('list', { name: 'Notifications' }).getByRole('listitem').nth(2).waitFor();
  await dashboard.waitForFunction(() => document.querySelectorAll('[aria-label="Prices"] .up, [aria-label="Prices"] .down').length >= 3);
  await dashboard.screenshot({ path: dashboardOut });
  console.log(`wrote ${dashboardOut}`);
} finally {
  await browser.close();
  await server.dispose();
}
