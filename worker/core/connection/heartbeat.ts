/**
 * Application-level heartbeats on an open connection: the hub pings the server at a fixed period
 * and declares the connection dead when nothing at all has arrived for too long. WebSocket
 * protocol pings are invisible to scripts, so only application frames can do either job; they also
 * keep a Chrome MV3 service worker alive, which Chrome 116+ does while WebSocket messages flow
 * within its 30 s idle window (https://developer.chrome.com/docs/extensions/how-to/web-platform/websockets).
 */
import type { Clock } from '../platform';
import type { Scope } from '../scope';

/** Slack on top of twice the server's interval, for a busy event loop and network jitter. */
export const PING_GRACE_MS = 1000;

export interface HeartbeatTiming {
  /** How often the hub sends `ping`. */
  readonly intervalMs: number;
  /** Silence (no frame of any kind) after which the connection counts as dead. */
  readonly deadlineMs: number;
}

/**
 * Timing for a server that pings every `serverHeartbeatMs` (from `welcome`): the hub pings at that
 * rate or at `maxPingIntervalMs`, whichever is shorter, and gives up after two missed server
 * intervals plus `PING_GRACE_MS`.
 */
export function heartbeatTiming(serverHeartbeatMs: number, maxPingIntervalMs: number): HeartbeatTiming {
  return {
    intervalMs: Math.max(1, Math.min(serverHeartbeatMs, maxPingIntervalMs)),
    deadlineMs: 2 * serverHeartbeatMs + PING_GRACE_MS,
  };
}

export interface Heartbeat {
  /** Call on every frame received, valid or not: any traffic proves the connection alive. */
  traffic(): void;
}

/**
 * Starts pinging and watching for silence; both stop when `scope` is disposed. `dead` is called
 * at most once, with how long the connection has been silent.
 */
export function startHeartbeat(
  scope: Scope,
  clock: Clock,
  timing: HeartbeatTiming,
  actions: { ping(): void; dead(silentMs: number): void },
): Heartbeat {
  let lastTrafficAt = clock.now();

  const schedulePing = (): void => {
    scope.after(timing.intervalMs, () => {
      actions.ping();
      schedulePing();
    });
  };

  // One timer for the deadline, re-armed only when it fires, rather than a clear-and-set per
  // frame: a busy price feed delivers hundreds of frames a second.
  const watch = (delayMs: number): void => {
    scope.after(delayMs, () => {
      const silentMs = clock.now() - lastTrafficAt;
      if (silentMs >= timing.deadlineMs) actions.dead(silentMs);
      else watch(timing.deadlineMs - silentMs);
    });
  };

  schedulePing();
  watch(timing.deadlineMs);
  return {
    traffic() {
      lastTrafficAt = clock.now();
    },
  };
}
