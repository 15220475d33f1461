/**
 * Per-attempt resources: the timers that belong to one connection attempt (or one wait between
 * attempts), cancelled together by one `dispose()`. After that nothing the scope owned can fire, so
 * a timer callback never has to ask whether its attempt is still current. The scope's id is what
 * socket callbacks compare to recognise a stale socket.
 */
import type { Clock, TimerHandle } from './platform';

export interface Scope {
  /** Distinct per scope; socket callbacks compare it to tell a stale socket from the current one. */
  readonly id: number;
  /** Runs `fn` after `ms` unless the scope is disposed first; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
  dispose(): void;
}

let nextId = 1;

export function createScope(clock: Clock): Scope {
  const id = nextId++;
  const timers = new Set<TimerHandle>();
  let disposed = false;

  return {
    id,
    after(ms, fn) {
      if (disposed) return () => {};
      const handle = clock.setTimeout(() => {
        timers.delete(handle);
        if (!disposed) fn();
      }, ms);
      timers.add(handle);
      return () => {
        if (timers.delete(handle)) clock.clearTimeout(handle);
      };
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const handle of timers) clock.clearTimeout(handle);
      timers.clear();
    },
  };
}
