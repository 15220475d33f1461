/** Releasing a dashboard tab's sessions when its Web Lock comes free, with a fake lock manager. */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { tabLockName } from '../../lib/rpc/hub-worker-messages';
import { createTabSessions } from '../../worker/hosts/shared-worker/tab-sessions';
import { createFakeLocks } from '../support/fake-locks';
import { createRecordingLogger } from '../support/fake-socket';

const TAB = '6f1c2f4e-9d1b-4c55-8a77-0c6a3c1f2b10';
const OTHER = '0b7e8a3d-1c2f-4d5e-9f60-7a8b9c0d1e2f';
const forever = () => new Promise<void>(() => {});

function setup() {
  const locks = createFakeLocks();
  const tabs = createTabSessions({ locks, log: createRecordingLogger() });
  return { locks, tabs };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('tab sessions', () => {
  test('nothing is released while the tab holds its lock; everything once it is gone', async () => {
    const { locks, tabs } = setup();
    void locks.request(tabLockName(TAB), forever);
    const released: string[] = [];
    tabs.attach(TAB, () => released.push('first'));
    tabs.attach(TAB, () => released.push('second'));
    // The hub's request waits behind the tab's lock: its callback, which releases, has not run.
    await vi.waitFor(() => expect(locks.waiting(tabLockName(TAB))).toBe(1));
    expect(released).toEqual([]);
    // One request per tab, however many sessions it opened.
    expect(locks.waiting(tabLockName(TAB))).toBe(1);

    locks.drop(tabLockName(TAB));
    await vi.waitFor(() => expect(released).toEqual(['first', 'second']));
    expect(tabs.tabs()).toBe(0);
    // The hub let the lock go again at once.
    expect(locks.held()).toEqual([]);
  });

  test('only the tab that went is released', async () => {
    const { locks, tabs } = setup();
    void locks.request(tabLockName(TAB), forever);
    void locks.request(tabLockName(OTHER), forever);
    const released: string[] = [];
    tabs.attach(TAB, () => released.push(TAB));
    tabs.attach(OTHER, () => released.push(OTHER));
    locks.drop(tabLockName(OTHER));
    await vi.waitFor(() => expect(released).toEqual([OTHER]));
    expect(tabs.tabs()).toBe(1);
  });

  test('a session that ended by itself is not released again', async () => {
    const { locks, tabs } = setup();
    void locks.request(tabLockName(TAB), forever);
    let released = 0;
    const untie = tabs.attach(TAB, () => (released += 1));
    untie();
    locks.drop(tabLockName(TAB));
    // The hub was granted the lock and forgot the tab: the moment it releases what is left.
    await vi.waitFor(() => expect(tabs.tabs()).toBe(0));
    expect(released).toBe(0);
  });

  test('a reconnect after the tab went starts a new watch', async () => {
    const { locks, tabs } = setup();
    void locks.request(tabLockName(TAB), forever);
    const released: string[] = [];
    tabs.attach(TAB, () => released.push('old'));
    locks.drop(tabLockName(TAB));
    await vi.waitFor(() => expect(released).toEqual(['old']));
    // A port that arrives late for a tab that is already gone: the lock is free, so it goes at once.
    tabs.attach(TAB, () => released.push('late'));
    await vi.waitFor(() => expect(released).toEqual(['old', 'late']));
  });

  test('without Web Locks nothing is released, and nothing throws', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const tabs = createTabSessions({ locks: undefined, log: createRecordingLogger() });
    let released = 0;
    tabs.attach(TAB, () => (released += 1));
    // Every timer and promise callback there is has run: nothing is left that could release.
    await vi.runAllTimersAsync();
    expect(vi.getTimerCount()).toBe(0);
    expect(released).toBe(0);
  });
});
