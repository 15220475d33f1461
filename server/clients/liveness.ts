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

export function createLiveness(heartbeatMs: number): Liveness {
  let lastSeen = monotonic();
  const grace = Math.min(heartbeatMs, 5000);
  return {
    seen() {
      lastSeen = monotonic();
    },
    silent: () => monotonic() - lastSeen > 2 * heartbeatMs + grace,
  };
}
