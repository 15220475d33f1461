/**
 * The notification feed in the built extension, in Chromium, against a real server process on the
 * SQLite store. Notifications published while the extension cannot hear them — the server down and
 * restarted, the service worker stopped, the network offline, the browser closed — all show up in
 * the popup exactly once, newest first, with the right unread badge. Every test checks the whole
 * feed, so an event shown twice or lost anywhere along the way fails it. The ways of being away
 * stand on the live feed (`step`), and each test also runs alone.
 *
 * The extension reaches the server through a TCP proxy (`startTcpProxy`) so that a step can keep
 * it away from a restarted server until the step has published, instead of racing its backoff.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchChromiumWithExtension, type ExtensionBrowser } from '../support/chromium';
import { OptionsPage } from '../support/pages/options';
import { PopupPage } from '../support/pages/popup';
import { CONNECTIONS, publishNotifications } from '../support/publish';
import { spawnServerProcess, type ServerProcess } from '../support/server';
import { step } from '../support/steps';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

const USER = 'ann';
const HOSTILE_TITLE = `<img src=x onerror="document.title='pwned'"><script>document.title='pwned'</script>`;

let server: ServerProcess;
let proxy: TcpProxy;
let browser: ExtensionBrowser;
let profileDir: string;
let token: string;

/** Titles in the order they were published, and the ones marked read since. */
const published: string[] = [];
const read = new Set<string>();
const popups: PopupPage[] = [];

const newestFirst = (): string[] => [...published].reverse();
const unreadNewestFirst = (): string[] => newestFirst().filter((title) => !read.has(title));
const badgeFor = (unread: number): string => (unread === 0 ? '' : unread > 99 ? '99+' : String(unread));

/**
 * Every open popup shows every notification exactly once, newest first, unread as expected, and no
 * gap notice (the hub recovered everything); the badge shows the unread count.
 */
async function expectFeedEverywhere(): Promise<void> {
  for (const popup of popups) {
    await popup.waitForTitles(newestFirst());
    await expect.poll(() => popup.unreadTitles(), { timeout: 30_000 }).toEqual(unreadNewestFirst());
    expect((await popup.feed()).filter((row) => row.kind === 'gap')).toEqual([]);
  }
  await browser.waitForBadge(badgeFor(unreadNewestFirst().length));
}

/** The popup still shows only what was published before `titles`: the hub had no way to hear of them. */
async function expectNotYetShown(popup: PopupPage, titles: readonly string[]): Promise<void> {
  const shown = await popup.titles();
  expect(shown.filter((title) => titles.includes(title))).toEqual([]);
}

async function openPopup(): Promise<PopupPage> {
  const popup = await PopupPage.open(browser);
  popups.push(popup);
  await popup.waitForStatus('Connected');
  return popup;
}

async function closePopups(): Promise<void> {
  for (const popup of popups.splice(0)) await popup.page.close();
}

beforeAll(async () => {
  server = await spawnServerProcess();
  proxy = await startTcpProxy({ port: server.port });
  token = await server.mintToken(USER);
  profileDir = mkdtempSync(join(tmpdir(), 'switchboard-profile-'));
  browser = await launchChromiumWithExtension({ userDataDir: profileDir });
});

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await server?.dispose();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
});

const connected = step(async () => {
  const options = await OptionsPage.open(browser);
  await options.save({ serverUrl: proxy.url, token });
  await options.waitForStatus('Connected');
  await options.page.close();
  expect(await server.waitForMetric(CONNECTIONS, (n) => n === 1)).toBe(1);
});

/** Two popups open on three notifications, one of them read. */
const liveFeed = step(async () => {
  await connected();
  const first = await openPopup();
  const second = await openPopup();
  await publishNotifications(server, USER, published, 'Deploy finished', HOSTILE_TITLE, 'Disk almost full');
  await expectFeedEverywhere();

  // Markup in a title stays text: nothing ran and no element was made from it.
  expect(await first.page.title()).toBe('Switchboard');
  expect(await first.page.locator('ul[aria-label="Notifications"] img, ul[aria-label="Notifications"] script').count()).toBe(0);
  expect(await first.titles()).toContain(HOSTILE_TITLE);

  await first.markRead('Deploy finished');
  read.add('Deploy finished');
  await second.waitForUnread('Deploy finished', false);
  await expectFeedEverywhere();
  expect(await browser.badgeText()).toBe('2');
});

describe('a notification feed that never loses or repeats an event', () => {
  test('with no access token the popup says so and leads to the options', async () => {
    const popup = await PopupPage.open(browser);
    await popup.waitForStatus('no access token');
    const [optionsTab] = await Promise.all([
      browser.context.waitForEvent('page', (page) => page.url().startsWith(browser.url('options.html'))),
      popup.page.getByRole('button', { name: 'Open Options' }).click(),
    ]);
    await optionsTab.waitForLoadState();
    await optionsTab.close();
    await popup.page.close();
  });

  test('the options page points the hub at the server with a minted token', connected);

  test('live notifications: newest first, unread marked, hostile text inert, read state synced across views', liveFeed);

  test('(a) published while the server is down, then restarted: each shown once, nothing repeated', async () => {
    await liveFeed();
    await server.kill('SIGKILL');
    await popups[0]!.waitForStatusNot('Connected');
    // Keep the extension away from the restarted server until both are published.
    proxy.unplug();
    await server.restart();
    await publishNotifications(server, USER, published, 'Server back: first', 'Server back: second');
    expect(await server.metric(CONNECTIONS)).toBe(0);
    await expectNotYetShown(popups[0]!, ['Server back: first', 'Server back: second']);
    proxy.plug();
    await Promise.all(popups.map((popup) => popup.waitForStatus('Connected')));
    await expectFeedEverywhere();
    expect(await server.waitForMetric(CONNECTIONS, (n) => n === 1)).toBe(1);
  });

  test('(b) published while Chrome has stopped the service worker', async () => {
    await liveFeed();
    // No view may be open, or its port would start the worker again at once.
    await closePopups();
    await browser.stopServiceWorkers();
    await server.waitForMetric(CONNECTIONS, (n) => n === 0);
    await publishNotifications(server, USER, published, 'Worker stopped: first', 'Worker stopped: second');
    await openPopup();
    await expectFeedEverywhere();
    expect(await server.waitForMetric(CONNECTIONS, (n) => n === 1)).toBe(1);
  });

  // What CDP offline emulation does to an extension service worker (Chromium 156): Playwright cannot
  // open a CDP session on a worker, so `setServiceWorkerOffline` attaches to the worker's target
  // over the browser's own DevTools endpoint. There, `Network.emulateNetworkConditions {offline}`
  // makes `navigator.onLine` false and new WebSockets and fetches fail, but an open WebSocket is not
  // closed: its frames are held both ways (and may be let through later), and the worker gets no
  // `offline`/`online` event (a page of the extension does). Emulating on a page also flips the
  // worker's `navigator.onLine` but leaves its socket alone. The host therefore polls
  // `navigator.onLine`, and the hub closes its socket when it goes false.
  test('(d) published while the service worker is offline (CDP network emulation)', async () => {
    await liveFeed();
    const popup = popups[0]!;
    await browser.setServiceWorkerOffline(true);
    await popup.waitForStatus('Offline');
    // The hub saw `navigator.onLine` go false and closed its socket: nothing can reach it now.
    await publishNotifications(server, USER, published, 'Offline: first', 'Offline: second', 'Offline: third');
    await expectNotYetShown(popup, ['Offline: first', 'Offline: second', 'Offline: third']);
    await browser.setServiceWorkerOffline(false);
    await popup.waitForStatus('Connected');
    await expectFeedEverywhere();
    // The socket the emulation held open is gone for good: one connection, not two.
    expect(await server.waitForMetric(CONNECTIONS, (n) => n === 1)).toBe(1);
  });

  test('(c) published while the browser is closed, then relaunched on the same profile', async () => {
    await liveFeed();
    popups.splice(0);
    await browser.close();
    await server.waitForMetric(CONNECTIONS, (n) => n === 0);
    await publishNotifications(server, USER, published, 'Browser closed: first', 'Browser closed: second', 'Browser closed: third');
    browser = await launchChromiumWithExtension({ userDataDir: profileDir });
    await openPopup();
    await openPopup();
    await expectFeedEverywhere();

    await popups[0]!.markAllRead();
    for (const title of published) read.add(title);
    await expectFeedEverywhere();
    expect(await browser.badgeText()).toBe('');
  });
});
