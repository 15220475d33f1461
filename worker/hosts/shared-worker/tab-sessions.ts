/**
 * Releases a dashboard tab's hub sessions when the tab goes away. A `MessagePort` has no close
 * event, so each tab holds a Web Lock named after its random id for its whole life and tells the
 * hub the id; the hub then asks for the same lock. The browser grants it only once the tab's
 * document is gone (closed, reloaded, navigated away, crashed), and that is when every session the
 * tab opened is closed. https://developer.mozilla.org/en-US/docs/Web/API/Web_Locks_API
 */
import { tabLockName } from '../../../lib/rpc/hub-worker-messages';
import type { Logger } from '../../core/platform';

/** The part of `LockManager` used here; `navigator.locks` in a worker, a fake in tests. */
export interface LockRequester {
  request(name: string, callback: () => unknown): Promise<unknown>;
}

export interface TabSessions {
  /**
   * Runs `release` once, when the tab `tab` is gone. Returns a function that forgets `release`
   * (its session ended by itself first).
   */
  attach(tab: string, release: () => void): () => void;
  /** Tabs currently watched, for tests and logs. */
  tabs(): number;
}

export function createTabSessions(deps: { readonly locks: LockRequester | undefined; readonly log: Logger }): TabSessions {
  const { locks, log } = deps;
  /** Per live tab, what to run when it goes; the lock request is pending while the entry exists. */
  const releases = new Map<string, Set<() => void>>();

  function watch(tab: string): void {
    if (!locks) return;
    locks
      .request(tabLockName(tab), () => {
        const pending = [...(releases.get(tab) ?? [])];
        releases.delete(tab);
        log.info('a tab went away; releasing its sessions', { tab, sessions: pending.length });
        for (const release of pending) release();
      })
      .catch((error: unknown) => log.warn('could not watch a tab', { tab, error: String(error) }));
  }

  return {
    attach(tab, release) {
      const known = releases.get(tab);
      const set = known ?? new Set<() => void>();
      set.add(release);
      // Added before asking: a lock that is already free may be granted at once.
      if (!known) {
        releases.set(tab, set);
        watch(tab);
      }
      return () => {
        set.delete(release);
      };
    },
    tabs: () => releases.size,
  };
}
