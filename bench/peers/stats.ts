/** Small statistics for the server benchmarks: percentiles and medians of samples. */

/** The `p`-th percentile (0–100) of `values` (nearest rank); NaN for none. */
export function percentile(values: ArrayLike<number>, p: number): number {
  const sorted = Float64Array.from(values).filter((v) => !Number.isNaN(v)).sort();
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const median = (values: readonly number[]): number => percentile(values, 50);

/** `a / b` as `1.23×` (two significant digits below 0.1: `0.0046×`), or `—` when either is missing. */
export function ratio(a: number, b: number): string {
  if (!(Number.isFinite(a) && Number.isFinite(b) && b > 0)) return '—';
  const r = a / b;
  return `${r < 0.1 ? r.toPrecision(2) : r.toFixed(2)}×`;
}

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
