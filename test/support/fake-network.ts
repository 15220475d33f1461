/**
 * A network monitor the test (or a benchmark) switches on and off. No test-runner imports, so
 * `bench/` can use it under plain Node.
 */
import type { NetworkMonitor } from '../../worker/core/platform';

export interface FakeNetwork extends NetworkMonitor {
  set(online: boolean): void;
  /** Changes what `isOnline()` answers without telling the listeners (a change the monitor missed). */
  setUnreported(online: boolean): void;
}

export function createFakeNetwork(online = true): FakeNetwork {
  const listeners = new Set<(online: boolean) => void>();
  let current = online;
  return {
    isOnline: () => current,
    onChange(callback) {
      listeners.add(callback);
      return () => listeners.delete(callback);
    },
    set(next) {
      current = next;
      for (const listener of [...listeners]) listener(next);
    },
    setUnreported(next) {
      current = next;
    },
  };
}
