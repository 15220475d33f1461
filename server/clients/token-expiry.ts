/**
 * The countdown to the expiry of the access token in force on one client. The timer re-checks the
 * wall clock when it fires, so it is never early, and re-arms past setTimeout's limit; `passed()` is
 * the same check for the heartbeat sweep, which covers an injected clock that jumps.
 *
 * Tokens mostly live for days, and every connection would hold a timer for them, so a timer is set
 * only once the expiry is within `horizonMs`: the heartbeat sweep, which visits every client more
 * often than that, calls `passed()`, which sets it when the expiry comes that near. One per
 * connection, so a class (the timer calls a shared function with the countdown as its argument).
 */

/** setTimeout fires at once for delays above 2^31-1 ms (~24.8 days); longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface TokenExpiry {
  /** (Re)starts the countdown to `expiresAt` (ms, wall clock); undefined for a token that does not expire. */
  set(expiresAt: number | undefined): void;
  /**
   * True once the wall clock has reached the expiry of the token in force; otherwise sets the timer
   * if the expiry is now within the horizon. Call it more often than every `horizonMs`.
   */
  passed(): boolean;
  /** Stops the countdown (the client is closing). */
  stop(): void;
}

/** Called as methods. */
export interface TokenExpiryDeps {
  /** Wall clock in ms. */
  now(): number;
  /** The token in force has expired. */
  onExpired(): void;
  /** The timer's check or `onExpired` threw. */
  onError(error: unknown): void;
}

function fire(countdown: Countdown, at: number): void {
  countdown.due(at);
}

class Countdown implements TokenExpiry {
  private expiresAt: number | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly deps: TokenExpiryDeps,
    private readonly horizonMs: number,
  ) {}

  set(at: number | undefined): void {
    this.stop();
    this.expiresAt = at;
    this.armIfNear();
  }

  passed(): boolean {
    if (this.expiresAt === undefined) return false;
    if (this.deps.now() >= this.expiresAt) return true;
    this.armIfNear();
    return false;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.expiresAt = undefined;
  }

  /** The timer for `at` fired. */
  due(at: number): void {
    try {
      if (this.expiresAt !== at) return;
      if (this.deps.now() >= at) return this.deps.onExpired();
      this.arm(at);
    } catch (error) {
      this.deps.onError(error);
    }
  }

  private armIfNear(): void {
    const at = this.expiresAt;
    if (at !== undefined && this.timer === undefined && at - this.deps.now() <= this.horizonMs) this.arm(at);
  }

  private arm(at: number): void {
    this.timer = setTimeout(fire, Math.min(MAX_TIMER_MS, Math.max(0, at - this.deps.now())), this, at);
    this.timer.unref();
  }
}

/** `horizonMs`: how near an expiry must be for a timer to be set (`passed()` is called more often). Default: always set one. */
export function createTokenExpiry(deps: TokenExpiryDeps, horizonMs = Number.POSITIVE_INFINITY): TokenExpiry {
  return new Countdown(deps, horizonMs);
}
