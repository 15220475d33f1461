/**
 * The web dashboard the server serves at `/`, in Chromium and in Firefox, against a real server
 * process on the SQLite store. Its tabs share one hub in a SharedWorker, hence one WebSocket: five
 * tabs show live prices over one connection, closing the tab that started the worker leaves the
 * others working, a fired alert shows as a banner in the focused tab only, and notifications
 * published while the server was down show up exactly once, in order, in every tab after it
 * restarts. The token is signed in through the form, kept across a reload, out of reach of other
 * origins, and forgotten on `Sign out`. Where there is no `SharedWorker`, each tab runs its own hub
 * in a dedicated Worker. Later tests stand on the steps of earlier ones (`step`), so each also runs
 * alone.
 *
 * The browser reaches the server through a TCP proxy (`startTcpProxy`), so the restart step can
 * keep the hub away from the restarted server until it has published, instead of racing its
 * backoff. The dashboard's origin is then the proxy's, which the server accepts as its own (the
 * Origin matches the Host it was dialled with).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchBrowser, type BrowserKind, type LaunchedBrowser } from '../support/puppeteer';
import { DashboardPage } from '../support/pages/dashboard';
import { startWebPages } from '../support/pages/web-tab';
import { CONNECTIONS, publishNotifications, publishPriceAndSee } from '../support/publish';
import { spawnServerProcess, type ServerProcess } from '../support/server';
import { step } from '../support/steps';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

const USER = 'ann';
const TABS = 5;
const WAIT_MS = 30_000;
const POLL = { timeout: WAIT_MS, interval: 50 } as const;

describe.each<BrowserKind>(['chromium', 'firefox'])('the web dashboard in %s', (kind) => {
  let server: ServerProcess;
  let proxy: TcpProxy;
  let launched: LaunchedBrowser;
  let token: string;
  const tabs: DashboardPage[] = [];
  /** Notification titles in the order they were published, and those read since. */
  const published: string[] = [];
  const read = new Set<string>();

  /**
   * Waits until the gauge reads `expected`, and shows that it stays there: the hub of every open tab
   * is in a state that opens no socket by itself. `Connected` is one socket, counted from its
   * upgrade on, before the tab heard it open; `Not connected` (signed out) and `Disconnected` (the
   * token refused) hold no retry timer, unlike `Connecting…`, `Reconnecting…` and `Offline`.
   */
  async function expectConnections(expected: number): Promise<void> {
    await expect.poll(() => server.metric(CONNECTIONS), POLL).toBe(expected);
    for (const tab of tabs) expect(await tab.status()).toMatch(/^(Connected|Not connected|Disconnected)/);
  }

  /**
   * Every open tab shows every notification exactly once, newest first, no gap notice, and the
   * unread count in its title.
   */
  async function expectFeedEverywhere(): Promise<void> {
    const newestFirst = [...published].reverse();
    const unread = published.filter((title) => !read.has(title)).length;
    // The title is kept current in hidden tabs too: read before any of them is looked at.
    await Promise.all(tabs.map((tab) => tab.waitForTitle(unread > 0 ? `(${unread}) Switchboard` : 'Switchboard')));
    for (const tab of tabs) {
      await tab.waitForTitles(newestFirst);
      expect(await tab.gaps()).toEqual([]);
    }
  }

  beforeAll(async () => {
    server = await spawnServerProcess();
    proxy = await startTcpProxy({ port: server.port });
    token = await server.mintToken(USER);
    launched = await launchBrowser(kind);
  });

  afterAll(async () => {
    await launched?.close();
    await proxy?.close();
    await server?.dispose();
  });

  const garbageRefused = step(async () => {
    const tab = await DashboardPage.open(launched.browser, `${proxy.url}/`);
    tabs.push(tab);
    expect(await tab.waitForSignInForm()).toBe('');
    await tab.signIn('not-a-token');
    const error = await tab.waitForSignInError('Access token refused');
    expect(error).toMatch(/^Could not sign in\. Access token refused/);
    // The status line names the fix the dashboard offers.
    expect(await tab.status()).toMatch(/^Not connected: Access token refused.*\. Sign in with a new access token$/);
    // The form is usable again, and no socket stayed open with the bad token.
    expect(await tab.waitForSignInForm()).toContain('Access token refused');
    await expectConnections(0);
  });

  const signedIn = step(async () => {
    await garbageRefused();
    const tab = tabs[0]!;
    await tab.signIn(token);
    await tab.waitForStatus('Connected');
    expect(await tab.showsSignIn()).toBe(false);
    await expectConnections(1);
  });

  const tabsOpen = step(async () => {
    await signedIn();
    for (let i = 1; i < TABS; i += 1) tabs.push(await DashboardPage.open(launched.browser, `${proxy.url}/`));
    for (const tab of tabs) await tab.waitForStatus('Connected');
    await publishPriceAndSee(server, tabs, 'AAPL', 101.25);
    await publishPriceAndSee(server, tabs, 'MSFT', 402.5);
    await expectConnections(1);
    // Each tab holds its lock, and the hub waits on each one to learn when the tab goes.
    await tabs[1]!.waitForTabLocks({ held: TABS, pending: TABS });
  });

  const firstTabClosed = step(async () => {
    await tabsOpen();
    await tabs.shift()!.close();
    // The hub was granted the closed tab's lock, which is when it released that tab's session.
    await tabs[0]!.waitForTabLocks({ held: TABS - 1, pending: TABS - 1 });
    await publishPriceAndSee(server, tabs, 'AAPL', 103.75);
    await publishNotifications(server, USER, published, 'After the first tab closed');
    await expectFeedEverywhere();
    await expectConnections(1);
  });

  const alertFired = step(async () => {
    await firstTabClosed();
    const looking = tabs[2]!;
    await looking.createAlert({ symbol: 'AAPL', condition: 'above', price: '110' });
    await expect.poll(() => looking.alerts(), POLL).toEqual(['AAPL above 110 | Active']);
    await looking.bringToFront();
    await server.publishPrice('AAPL', 111);
    const title = await looking.waitForBanner('AAPL');
    // The fired alert is a feed entry too: every tab lists it once.
    published.push(title);
    await expectFeedEverywhere();
    for (const tab of tabs) if (tab !== looking) expect(await tab.banners()).toEqual([]);
    expect(await looking.banners()).toEqual([title]);

    // Dismissing it marks its notification read, in every tab.
    await looking.dismissBanner(title);
    read.add(title);
    await looking.waitForNoBanner();
    await expectFeedEverywhere();
    await expect.poll(() => looking.alerts(), POLL).toEqual(['AAPL above 110 | Fired']);
  });

  const serverRestarted = step(async () => {
    await alertFired();
    await server.kill('SIGKILL');
    for (const tab of tabs) await tab.waitForStatusNot('Connected');
    // Keep the hub away from the restarted server until everything is published.
    proxy.unplug();
    await server.restart();
    await publishNotifications(server, USER, published, 'While down: first', 'While down: second', 'While down: third');
    expect(await server.metric(CONNECTIONS)).toBe(0);
    for (const tab of tabs) expect((await tab.titles()).filter((title) => title.startsWith('While down'))).toEqual([]);
    proxy.plug();
    for (const tab of tabs) await tab.waitForStatus('Connected');
    await expectFeedEverywhere();
    await expectConnections(1);
  });

  const signedOut = step(async () => {
    await serverRestarted();
    await tabs[0]!.signOut();
    for (const tab of tabs) await tab.waitForSignInForm();
    await expectConnections(0);
    await tabs[1]!.reload();
    expect(await tabs[1]!.waitForSignInForm()).toBe('');
  });

  test('a garbage token: the form says the server refused it, and nothing breaks', garbageRefused);

  test('signing in with a minted token connects', signedIn);

  test(`${TABS} tabs show live prices over one WebSocket`, tabsOpen);

  test('closing the tab that started the worker leaves the others working', firstTabClosed);

  test('a tab behind another takes no updates but its title, and catches up when shown', async () => {
    await firstTabClosed();
    const front = await DashboardPage.open(launched.browser, `${proxy.url}/`);
    const behind = await DashboardPage.open(launched.browser, `${proxy.url}/`);
    try {
      await publishPriceAndSee(server, [behind, front], 'MSFT', 410.25);
      expect(await behind.page.evaluate(() => document.visibilityState)).toBe('hidden');
      await server.publishPrice('MSFT', 411.75);
      await front.waitForPrice('MSFT', '411.75');
      await publishNotifications(server, USER, published, 'While behind');
      const unread = published.filter((title) => !read.has(title)).length;
      // The unread count reaches the hidden tab, in the same frame the price would have had it come.
      await behind.waitForTitle(`(${unread}) Switchboard`);
      const shown = await behind.page.evaluate(() => ({
        msft: document.querySelector('ul[aria-label="Prices"] > li[data-symbol="MSFT"] .value')?.textContent,
        titles: [...document.querySelectorAll('ul[aria-label="Notifications"] .title')].map((title) => title.textContent),
        busy: document.querySelector('main')?.getAttribute('aria-busy'),
      }));
      expect(shown).toEqual({ msft: '410.25', titles: expect.not.arrayContaining(['While behind']), busy: 'true' });
      // Shown again, it catches up: the latest price from the hub's cache, the feed reloaded.
      await behind.waitForPrice('MSFT', '411.75');
      await behind.waitForTitles([...published].reverse());
    } finally {
      await front.close();
      await behind.close();
    }
  });

  test('a fired alert shows as one banner, in the tab the user looks at only', alertFired);

  test('notifications published while the server was down show up once, in order, in every tab', serverRestarted);

  test('a reload keeps the sign-in, and a page of another origin cannot read the token', async () => {
    await serverRestarted();
    const tab = tabs[0]!;
    await tab.reload();
    await tab.waitForStatus('Connected');
    expect(await tab.showsSignIn()).toBe(false);
    await tab.waitForTitles([...published].reverse());

    const pages = await startWebPages();
    const foreign = await launched.browser.newPage();
    try {
      await foreign.goto(pages.url('/elsewhere'));
      // IndexedDB is per origin: the dashboard's databases do not exist for this page.
      const seen = await foreign.evaluate(async () => {
        const names = (await indexedDB.databases()).map((db) => db.name ?? '');
        const opened = await new Promise<IDBDatabase>((resolve, reject) => {
          const request = indexedDB.open('switchboard-dashboard');
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        const stores = [...opened.objectStoreNames];
        opened.close();
        return { names, stores };
      });
      expect(seen.names.filter((name) => name.startsWith('switchboard'))).toEqual([]);
      expect(seen.stores).toEqual([]);
      expect(JSON.stringify(seen)).not.toContain(token);
    } finally {
      await foreign.close();
      await pages.close();
    }
    await expectConnections(1);
  });

  test('signing out forgets the token in every tab', signedOut);

  test("another user signing in on the same browser sees none of the last user's notifications or alerts", async () => {
    await signedOut();
    await tabs[0]!.signIn(await server.mintToken('eve'));
    for (const tab of tabs) await tab.waitForStatus('Connected');
    for (const tab of tabs) {
      expect(await tab.titles()).toEqual([]);
      expect(await tab.alerts()).toEqual([]);
    }
    await server.publishNotification('eve', { title: 'For Eve only', body: 'Hello Eve' });
    for (const tab of tabs) await tab.waitForTitles(['For Eve only']);
    await tabs[0]!.signOut();
    for (const tab of tabs) await tab.waitForSignInForm();
    await expectConnections(0);
  });

  test('without SharedWorker each tab runs its own hub: one socket per tab, nothing lost or doubled', async () => {
    for (const tab of tabs.splice(0)) await tab.close();
    await expectConnections(0);
    const first = await DashboardPage.open(launched.browser, `${proxy.url}/`, { withoutSharedWorker: true });
    tabs.push(first);
    await first.signIn(token);
    await first.waitForStatus('Connected');
    // A tab opened later reads the stored token at its start.
    tabs.push(await DashboardPage.open(launched.browser, `${proxy.url}/`, { withoutSharedWorker: true }));
    for (const tab of tabs) await tab.waitForStatus('Connected');
    await expectConnections(2);
    await publishPriceAndSee(server, tabs, 'AAPL', 105.5);
    await publishNotifications(server, USER, published, 'Dedicated workers: one');
    await expectFeedEverywhere();
  });
});
