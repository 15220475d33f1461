/**
 * A token bucket and a sliding-window count, the two counters every rate limit here is made of.
 * Both are a few arithmetic operations on the caller's clock (monotonic ms), with no timers and no
 * promises, because they run once per incoming frame: a library built for keyed, shared stores
 * (`rate-limiter-flexible` answers each check with a promise and keeps a timer per key) would put
 * that cost on every frame without buying anything a single process needs.
 */

/** A rate: up to `burst` at once, refilled at `perSecond` (any positive number, e.g. 0.5). */
export interface RateLimit {
  readonly burst: number;
  readonly perSecond: number;
}

export interface TokenBucket {
  /** Ms until a token is there (0: one is there now); takes nothing. */
  wait(now: number): number;
  /** Takes a token if there is one; returns what `wait` said before (0: taken). */
  take(now: number): number;
  /** Ms until the bucket is full again (0: it is full). */
  untilFull(now: number): number;
}

/**
 * A bucket that starts full, kept as one number in the manner of the Generic Cell Rate Algorithm
 * (ITU-T I.371; see https://brandur.org/rate-limiting): `tat`, the time at which the bucket would
 * be full again. Each token moves it on by one interval, and a token is there while `tat` is less
 * than a burst of intervals ahead of now. No fractional token counts, so no rounding drift.
 */
export function createTokenBucket(rate: RateLimit, now: number): TokenBucket {
  const interval = 1000 / rate.perSecond;
  const ahead = (rate.burst - 1) * interval;
  let tat = now;
  const wait = (at: number): number => Math.max(0, Math.ceil(tat - ahead - at));
  return {
    wait,
    take(at) {
      const ms = wait(at);
      if (ms === 0) tat = Math.max(tat, at) + interval;
      return ms;
    },
    untilFull: (at) => Math.max(0, Math.ceil(tat - at)),
  };
}

/** Counts events in a sliding window: says when one more than `max` fell within `windowMs`. */
export interface WindowCount {
  /** Records an event at `now`; true when it is the (`max` + 1)th within the last `windowMs`. */
  add(now: number): boolean;
}

export function createWindowCount(max: number, windowMs: number): WindowCount {
  // The last `max` events' times, oldest at `next` once full; allocated on the first event, since
  // most connections never have one.
  let times: Float64Array | undefined;
  let next = 0;
  let count = 0;
  return {
    add(now) {
      times ??= new Float64Array(max);
      const over = count === max && now - times[next]! < windowMs;
      times[next] = now;
      next = (next + 1) % max;
      count = Math.min(count + 1, max);
      return over;
    },
  };
}
