/**
 * Reconnect delays, for the hub's socket and the views' link to the hub alike: an exponential
 * ceiling per attempt, and "full jitter" below it, as pure functions of the attempt number and a
 * random source. Full jitter spreads a crowd of clients that lost the same server
 * evenly over the whole window instead of letting them return in waves; see Marc Brooker,
 * "Exponential Backoff And Jitter", AWS Architecture Blog, 2015:
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */

export interface BackoffOptions {
  /** Ceiling of the first delay (attempt 0), in ms. */
  readonly baseMs: number;
  /** Largest ceiling, in ms: no delay is ever longer. */
  readonly capMs: number;
  /** Shortest delay, in ms, so a flapping server is not hammered. Default 0. */
  readonly minMs?: number;
}

/** The longest delay after `attempt` consecutive failures (0 for the first retry): min(capMs, baseMs · 2^attempt), at least minMs. */
export function backoffCeiling(attempt: number, options: BackoffOptions): number {
  const minMs = Math.max(0, options.minMs ?? 0);
  const exponent = Number.isFinite(attempt) ? Math.max(0, Math.floor(attempt)) : 0;
  // 2 ** 1100 is Infinity; Math.min with the cap keeps the result finite.
  return Math.max(minMs, Math.min(options.capMs, options.baseMs * 2 ** exponent));
}

/**
 * The delay before retrying after `attempt` consecutive failures (0 for the first retry):
 * uniform in [minMs, ceiling) where ceiling is `backoffCeiling`.
 * `random` is uniform in [0, 1), like `Math.random`.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const minMs = Math.max(0, options.minMs ?? 0);
  const ceiling = backoffCeiling(attempt, options);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(minMs + r * (ceiling - minMs));
}
