/**
 * Whether a client is still talking: any frame counts. Measured on the monotonic clock, so a wall
 * clock that steps (NTP, or an injected test clock) cannot make a talking client look silent.
 */

const monotonic = () => performance.now();

export interface Liveness {
  /** A frame arrived. */
  seen(): void;
  /** Silent for two heartbeat intervals plus a grace (for a slow network or a busy client event loop). */
  silent(): boolean;
}

/** One per connection: the time of its last frame, its methods shared. */
class LastSeen implements Liveness {
  private lastSeen = monotonic();

  constructor(private readonly heartbeatMs: number) {}

  seen(): void {
    this.lastSeen = monotonic();
  }

  silent(): boolean {
    const grace = Math.min(this.heartbeatMs, 5000);
    return monotonic() - this.lastSeen > 2 * this.heartbeatMs + grace;
  }
}

export function createLiveness(heartbeatMs: number): Liveness {
  return new LastSeen(heartbeatMs);
}
