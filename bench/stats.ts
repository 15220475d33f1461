/** Small statistics for benchmark tables. */

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The `p`-th percentile (0–100) of `values` (nearest rank, NaNs left out); NaN for none. */
export function percentile(values: ArrayLike<number>, p: number): number {
  const sorted = Float64Array.from(values).filter((v) => !Number.isNaN(v)).sort();
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** `a / b` as `1.23×` (two significant digits below 0.1: `0.0046×`), or `—` when either is missing. */
export function ratio(a: number, b: number): string {
  if (!(Number.isFinite(a) && Number.isFinite(b) && b > 0)) return '—';
  const r = a / b;
  return `${r < 0.1 ? r.toPrecision(2) : r.toFixed(2)}×`;
}
