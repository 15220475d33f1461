/**
 * A token bucket and a sliding-window count, the two counters every rate limit here is made of.
 * Both are a few arithmetic operations on the caller's clock (monotonic ms), with no timers and no
 * promises, because they run once per incoming frame: a library built for keyed, shared stores
 * (`rate-limiter-flexible` answers each check with a promise and keeps a timer per key) would put
 * that cost on every frame without buying anything a single process needs. Every connection holds
 * several, so they are classes: a number or two each, their methods shared.
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
class GcraBucket implements TokenBucket {
  constructor(
    private readonly rate: RateLimit,
    private tat: number,
  ) {}

  wait(at: number): number {
    const interval = 1000 / this.rate.perSecond;
    return Math.max(0, Math.ceil(this.tat - (this.rate.burst - 1) * interval - at));
  }

  take(at: number): number {
    const ms = this.wait(at);
    if (ms === 0) this.tat = Math.max(this.tat, at) + 1000 / this.rate.perSecond;
    return ms;
  }

  untilFull(at: number): number {
    return Math.max(0, Math.ceil(this.tat - at));
  }
}

export function createTokenBucket(rate: RateLimit, now: number): TokenBucket {
  return new GcraBucket(rate, now);
}

/** Counts events in a sliding window: says when one more than `max` fell within `windowMs`. */
export interface WindowCount {
  /** Records an event at `now`; true when it is the (`max` + 1)th within the last `windowMs`. */
  add(now: number): boolean;
}

class RingWindowCount implements WindowCount {
  // The last `max` events' times, oldest at `next` once full; allocated on the first event, since
  // most connections never have one.
  private times: Float64Array | undefined;
  private next = 0;
  private count = 0;

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  add(now: number): boolean {
    const times = (this.times ??= new Float64Array(this.max));
    const over = this.count === this.max && now - times[this.next]! < this.windowMs;
    times[this.next] = now;
    this.next = (this.next + 1) % this.max;
    this.count = Math.min(this.count + 1, this.max);
    return over;
  }
}

export function createWindowCount(max: number, windowMs: number): WindowCount {
  return new RingWindowCount(max, windowMs);
}
