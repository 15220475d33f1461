/** Timing for the benchmarks: sleeping, calling on a fixed schedule, waiting for a condition to settle. */

export const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, Math.max(0, ms)));

/** Calls `tick(i)` for i = 0 … count-1 at `perSecond`, on an absolute schedule (a late call does not delay the next). */
export async function paced(count: number, perSecond: number, tick: (i: number) => void): Promise<void> {
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    await sleep(start + (i * 1000) / perSecond - performance.now());
    tick(i);
  }
}

/** Waits until `done()` holds, checking every 20 ms; false once `quietMs` passed without `progress()` changing, or after `capMs`. */
export async function settle(done: () => boolean, progress: () => number, quietMs: number, capMs: number): Promise<boolean> {
  const start = performance.now();
  let last = progress();
  let changedAt = start;
  while (!done()) {
    await sleep(20);
    const now = performance.now();
    const current = progress();
    if (current !== last) {
      last = current;
      changedAt = now;
    }
    if (now - changedAt > quietMs || now - start > capMs) return false;
  }
  return true;
}
