/** Releasing a dashboard tab's sessions when its Web Lock comes free, with a fake lock manager. */
import { describe, expect, test } from 'vitest';
import { tabLockName } from '../../lib/rpc/hub-worker-messages';
import { createTabSessions } from '../../worker/hosts/shared-worker/tab-sessions';
import { createFakeLocks } from '../support/fake-locks';
import { createRecordingLogger } from '../support/fake-socket';

const TAB = '6f1c2f4e-9d1b-4c55-8a77-0c6a3c1f2b10';
const OTHER = '0b7e8a3d-1c2f-4d5e-9f60-7a8b9c0d1e2f';
const forever = () => new Promise<void>(() => {});
const turn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function setup() {
  const locks = createFakeLocks();
  const tabs = createTabSessions({ locks, log: createRecordingLogger() });
  return { locks, tabs };
}

describe('tab sessions', () => {
  test('nothing is released while the tab holds its lock; everything once it is gone', async () => {
    const { locks, tabs } = setup();
    void locks.request(tabLockName(TAB), forever);
    const released: string[] = [];
    tabs.attach(TAB, () => released.push('first'));
    tabs.attach(TAB, () => released.push('second'));
    await turn();
    expect(released).toEqual([]);
    // One request per tab, however many sessions it opened.
    expect(locks.waiting(tabLockName(TAB))).toBe(1);

    locks.drop(tabLockName(TAB));
    await turn();
    expect(released).toEqual(['first', 'second']);
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
    await turn();
    expect(released).toEqual([OTHER]);
    expect(tabs.tabs()).toBe(1);
  });

  test('a session that ended by itself is not released again', async () => {
    const { locks, tabs } = setup();
    void locks.request(tabLockName(TAB), forever);
    let released = 0;
    const untie = tabs.attach(TAB, () => (released += 1));
    untie();
    locks.drop(tabLockName(TAB));
    await turn();
    expect(released).toBe(0);
  });

  test('a reconnect after the tab went starts a new watch', async () => {
    const { locks, tabs } = setup();
    void locks.request(tabLockName(TAB), forever);
    const released: string[] = [];
    tabs.attach(TAB, () => released.push('old'));
    locks.drop(tabLockName(TAB));
    await turn();
    // A port that arrives late for a tab that is already gone: the lock is free, so it goes at once.
    tabs.attach(TAB, () => released.push('late'));
    await turn();
    expect(released).toEqual(['old', 'late']);
  });

  test('without Web Locks nothing is released, and nothing throws', async () => {
    const tabs = createTabSessions({ locks: undefined, log: createRecordingLogger() });
    let released = 0;
    tabs.attach(TAB, () => (released += 1));
    await turn();
    expect(released).toBe(0);
  });
});
