import { afterEach, describe, expect, test, vi } from 'vitest';
import type { OverlayItem } from '../../lib/rpc/hub-api';
import { overlayPagePath, parseOverlayMessage, type HideOverlayMessage, type ShowOverlayMessage } from '../../lib/rpc/overlay-messages';
import { createExtensionNotifier, type NotifierApis } from '../../worker/hosts/extension/notifier';

const ITEM: OverlayItem = {
  id: 'feed:ann/e1/7',
  kind: 'alert',
  title: 'AAPL above 200',
  body: 'AAPL hit 200.12',
  level: 'high',
  at: 1,
  entryIds: ['feed:ann/e1/7'],
};

interface FakeTab {
  readonly id: number;
  readonly active: boolean;
  /** Whether the overlay content script runs there (not on chrome://, the new tab page, …). */
  readonly script: boolean;
}

/** Tabs of the focused window; `tabs.sendMessage` rejects where no content script listens, as Chrome does. */
function fakeBrowser(tabs: readonly FakeTab[], options: { notifications?: boolean; hold?: Promise<void> } = {}) {
  const sent: [number, ShowOverlayMessage | HideOverlayMessage][] = [];
  const calls: string[] = [];
  const shownIn = new Set<number>();
  const apis: NotifierApis = {
    tabs: {
      async query(query) {
        calls.push(`query ${JSON.stringify(query)}`);
        return query.active ? tabs.filter((tab) => tab.active) : tabs;
      },
      async sendMessage(tabId, message) {
        sent.push([tabId, message]);
        if (options.hold && message.type === 'switchboard:overlay') await options.hold;
        if (!tabs.find((tab) => tab.id === tabId)?.script) throw new Error('Could not establish connection. Receiving end does not exist.');
        if (message.type === 'switchboard:overlay') {
          shownIn.add(tabId);
          return { shown: true };
        }
        shownIn.delete(tabId);
        return undefined;
      },
    },
    ...(options.notifications === false
      ? {}
      : {
          notifications: {
            create: async (id, details) => void calls.push(`create ${id} ${JSON.stringify(details)}`),
            clear: async (id) => void calls.push(`clear ${id}`),
          },
        }),
    iconUrl: 'chrome-extension://x/icon/128.png',
    log: { info: () => {}, warn: () => {} },
  };
  return { apis, sent, calls, shownIn };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('createExtensionNotifier', () => {
  test('shows the overlay in the active tab of the focused window only, by id alone', async () => {
    const fake = fakeBrowser([
      { id: 1, active: false, script: true },
      { id: 2, active: true, script: true },
      { id: 3, active: false, script: true },
    ]);
    createExtensionNotifier(fake.apis).show(ITEM, { systemNotifications: true });
    await vi.waitFor(() => expect(fake.shownIn).toEqual(new Set([2])));
    expect(fake.calls).toEqual(['query {"active":true,"lastFocusedWindow":true}']);
    // Only the id crosses into the page's content script, never the text.
    expect(fake.sent).toEqual([[2, { type: 'switchboard:overlay', id: ITEM.id }]]);
  });

  test('no content script in the active tab: a system notification instead', async () => {
    const fake = fakeBrowser([
      { id: 1, active: false, script: true },
      { id: 2, active: true, script: false },
    ]);
    createExtensionNotifier(fake.apis).show(ITEM, { systemNotifications: true });
    await vi.waitFor(() => expect(fake.calls).toHaveLength(2));
    expect(fake.calls[1]).toBe(
      `create ${ITEM.id} ${JSON.stringify({ type: 'basic', iconUrl: 'chrome-extension://x/icon/128.png', title: ITEM.title, message: ITEM.body })}`,
    );
    expect(fake.shownIn.size).toBe(0);
  });

  test('no window in front at all: a system notification', async () => {
    const fake = fakeBrowser([{ id: 1, active: false, script: true }]);
    createExtensionNotifier(fake.apis).show({ ...ITEM, body: '' }, { systemNotifications: true });
    await vi.waitFor(() => expect(fake.calls[1]).toContain(`"message":"${ITEM.title}"`));
  });

  test('with system notifications off (or no notifications API) nothing else is shown', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    for (const [systemNotifications, notifications] of [
      [false, true],
      [true, false],
    ] as const) {
      const fake = fakeBrowser([{ id: 2, active: true, script: false }], { notifications });
      createExtensionNotifier(fake.apis).show(ITEM, { systemNotifications });
      await vi.waitFor(() => expect(fake.sent).toHaveLength(1));
      // Every timer and promise callback there is has run: nothing is left that could show more.
      await vi.runAllTimersAsync();
      expect(fake.calls.filter((call) => call.startsWith('create'))).toEqual([]);
    }
  });

  test('hide tells every tab and clears the system notification', async () => {
    const fake = fakeBrowser([
      { id: 1, active: false, script: true },
      { id: 2, active: true, script: true },
      { id: 3, active: false, script: false },
    ]);
    const notifier = createExtensionNotifier(fake.apis);
    notifier.show(ITEM, { systemNotifications: true });
    await vi.waitFor(() => expect(fake.shownIn).toEqual(new Set([2])));
    notifier.hide(ITEM.id);
    await vi.waitFor(() => expect(fake.calls).toContain(`clear ${ITEM.id}`));
    const hides = fake.sent.filter(([, message]) => message.type === 'switchboard:overlay-hide');
    expect(hides).toEqual([1, 2, 3].map((id) => [id, { type: 'switchboard:overlay-hide', id: ITEM.id }]));
    expect(fake.shownIn.size).toBe(0);
  });

  test('a hide that overtakes a show still on its way wins: the late overlay is taken down again', async () => {
    let release = () => {};
    const hold = new Promise<void>((resolve) => (release = resolve));
    const fake = fakeBrowser([{ id: 2, active: true, script: true }], { hold });
    const notifier = createExtensionNotifier(fake.apis);
    notifier.show(ITEM, { systemNotifications: true });
    await vi.waitFor(() => expect(fake.sent).toHaveLength(1));
    notifier.hide(ITEM.id);
    await vi.waitFor(() => expect(fake.calls).toContain(`clear ${ITEM.id}`));
    expect(fake.sent).toHaveLength(2);
    release();
    await vi.waitFor(() => expect(fake.sent).toHaveLength(3));
    expect(fake.sent[2]).toEqual([2, { type: 'switchboard:overlay-hide', id: ITEM.id }]);
    expect(fake.shownIn.size).toBe(0);
  });

  test('a failing browser API is logged, not thrown', async () => {
    const warn = vi.fn();
    const fake = fakeBrowser([]);
    const apis: NotifierApis = {
      ...fake.apis,
      tabs: { query: () => Promise.reject(new Error('no tabs')), sendMessage: () => Promise.reject(new Error('no')) },
      log: { info: () => {}, warn },
    };
    const notifier = createExtensionNotifier(apis);
    expect(() => notifier.show(ITEM, { systemNotifications: true })).not.toThrow();
    expect(() => notifier.hide(ITEM.id)).not.toThrow();
    await vi.waitFor(() => expect(warn).toHaveBeenCalledTimes(2));
  });
});

describe('overlay messages', () => {
  test.each([
    [{ type: 'switchboard:overlay', id: 'feed:ann/e1/7' }, true],
    [{ type: 'switchboard:overlay-hide', id: 'feed:ann/e1/7', extra: 1 }, true],
    [{ type: 'switchboard:overlay-gone', id: 'x' }, true],
    [{ type: 'switchboard:other', id: 'x' }, false],
    [{ type: 'switchboard:overlay', id: '' }, false],
    [{ type: 'switchboard:overlay', id: 'has space' }, false],
    [{ type: 'switchboard:overlay', id: 'x'.repeat(257) }, false],
    [{ type: 'switchboard:overlay', id: 7 }, false],
    ['switchboard:overlay', false],
    [null, false],
  ])('%j is accepted: %s', (message, accepted) => {
    const parsed = parseOverlayMessage(message);
    expect(parsed !== null).toBe(accepted);
    if (parsed) expect(Object.keys(parsed)).toEqual(['type', 'id']);
  });

  test('the overlay page URL carries the id encoded', () => {
    expect(overlayPagePath('feed:ann/e1/7&x=<y>')).toBe('overlay.html?id=feed%3Aann%2Fe1%2F7%26x%3D%3Cy%3E');
  });
});
