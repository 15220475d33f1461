/**
 * The countdown to the expiry of the access token in force on one client. The timer re-checks the
 * wall clock when it fires, so it is never early, and re-arms past setTimeout's limit; `passed()` is
 * the same check for the heartbeat sweep, which covers an injected clock that jumps.
 */

/** setTimeout fires at once for delays above 2^31-1 ms (~24.8 days); longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface TokenExpiry {
  /** (Re)starts the countdown to `expiresAt` (ms, wall clock); undefined for a token that does not expire. */
  set(expiresAt: number | undefined): void;
  /** True once the wall clock has reached the expiry of the token in force. */
  passed(): boolean;
  /** Stops the countdown (the client is closing). */
  stop(): void;
}

export interface TokenExpiryDeps {
  /** Wall clock in ms. */
  readonly now: () => number;
  /** The token in force has expired. */
  readonly onExpired: () => void;
  /** The timer's check or `onExpired` threw. */
  readonly onError: (error: unknown) => void;
}

export function createTokenExpiry(deps: TokenExpiryDeps): TokenExpiry {
  let expiresAt: number | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  function arm(at: number): void {
    timer = setTimeout(() => {
      try {
        if (expiresAt !== at) return;
        if (deps.now() >= at) return deps.onExpired();
        arm(at);
      } catch (error) {
        deps.onError(error);
      }
    }, Math.min(MAX_TIMER_MS, Math.max(0, at - deps.now())));
    timer.unref();
  }

  function stop(): void {
    clearTimeout(timer);
    timer = undefined;
    expiresAt = undefined;
  }

  return {
    set(at) {
      stop();
      expiresAt = at;
      if (at !== undefined) arm(at);
    },
    passed: () => expiresAt !== undefined && deps.now() >= expiresAt,
    stop,
  };
}
