/**
 * The limits on what one client, one user and one address may cost the server, as one option
 * (`ServerOptions.limits`): each default in its doc comment and its value in `LIMIT_DEFAULTS`, and
 * the check that rejects values which would break the server. `env.ts` beside this file reads the
 * variables an operator would set.
 */
import type { RateLimit } from './token-bucket';

export type { RateLimit } from './token-bucket';

export interface Limits {
  /** `subscribe` and `unsubscribe` frames of one connection. Default 200 at once, 20 a second (`SUBSCRIBE_RATE`). */
  readonly subscribeRate: RateLimit;
  /**
   * `send` frames of one connection. Default 1000 at once, so an outbox that queued a day of changes
   * offline flushes in one go, then 20 a second (`SEND_RATE`).
   */
  readonly sendRate: RateLimit;
  /** `send` frames of one user across all its connections to this server. Default 2000 at once, 40 a second (`USER_SEND_RATE`). */
  readonly userSendRate: RateLimit;
  /** `ping`, `pong` and `refresh` frames of one connection. Default 20 at once, 2 a second. */
  readonly controlRate: RateLimit;
  /** Refused frames tolerated within `rateLimitWindowMs`; one more closes the connection with 4029. Default 50. */
  readonly maxRateLimited: number;
  /** The window of `maxRateLimited`. Default 10000. */
  readonly rateLimitWindowMs: number;
  /** WebSocket connections (greeted or not) the server holds; a further one is closed with 1013. Default 5000 (`MAX_CLIENTS`). */
  readonly maxClients: number;
  /** Connections one user may hold; a further one is refused with 4013 at its `hello`. Default 32 (`MAX_CLIENTS_PER_USER`). */
  readonly maxClientsPerUser: number;
  /**
   * Connections from one address (an IPv6 /64) not yet signed in; a further one is closed with
   * 1013. 0 turns the check off (e.g. behind a proxy, where every client has its address). Default
   * 32 (`MAX_PENDING_PER_ADDRESS`).
   */
  readonly maxPendingPerAddress: number;
  /** TCP sockets the HTTP server keeps open (`server.maxConnections`): further ones are closed at once. Default 10000 (`MAX_SOCKETS`). */
  readonly maxSockets: number;
  /** TCP sockets from one address (an IPv6 /64), HTTP and WebSocket alike; further ones are closed at once. 0 turns it off. Default 1024 (`MAX_SOCKETS_PER_ADDRESS`). */
  readonly maxSocketsPerAddress: number;
  /** Time a client has to send a request's headers (`server.headersTimeout`); answered 408. Default 10000 (`HTTP_HEADERS_TIMEOUT_MS`). */
  readonly headersTimeoutMs: number;
  /** Time a client has to send a whole request, body included (`server.requestTimeout`). Default 30000 (`HTTP_REQUEST_TIMEOUT_MS`). */
  readonly requestTimeoutMs: number;
  /** How long an idle keep-alive HTTP connection is kept (`server.keepAliveTimeout`). Default 5000. */
  readonly keepAliveTimeoutMs: number;
}

/** Every limit's default. */
export const LIMIT_DEFAULTS: Limits = Object.freeze({
  subscribeRate: Object.freeze({ burst: 200, perSecond: 20 }),
  sendRate: Object.freeze({ burst: 1000, perSecond: 20 }),
  userSendRate: Object.freeze({ burst: 2000, perSecond: 40 }),
  controlRate: Object.freeze({ burst: 20, perSecond: 2 }),
  maxRateLimited: 50,
  rateLimitWindowMs: 10_000,
  maxClients: 5000,
  maxClientsPerUser: 32,
  maxPendingPerAddress: 32,
  maxSockets: 10_000,
  maxSocketsPerAddress: 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5000,
});

const RATES = ['subscribeRate', 'sendRate', 'userSendRate', 'controlRate'] as const;

/** Integer limits: [min, max]. */
const RANGES = {
  maxRateLimited: [1, 100_000],
  rateLimitWindowMs: [1, 3_600_000],
  maxClients: [1, 1_000_000],
  maxClientsPerUser: [1, 1_000_000],
  maxPendingPerAddress: [0, 1_000_000],
  maxSockets: [1, 1_000_000],
  maxSocketsPerAddress: [0, 1_000_000],
  headersTimeoutMs: [10, 600_000],
  requestTimeoutMs: [10, 3_600_000],
  keepAliveTimeoutMs: [10, 600_000],
} as const satisfies Record<Exclude<keyof Limits, (typeof RATES)[number]>, readonly [number, number]>;

/** A rate fit for a bucket: a whole burst of at least 1 and a positive, finite refill. */
export function isRateLimit(rate: RateLimit): boolean {
  return Number.isSafeInteger(rate.burst) && rate.burst >= 1 && Number.isFinite(rate.perSecond) && rate.perSecond > 0;
}

/** Fills in defaults and throws a `RangeError` naming the first bad value. */
export function resolveLimits(input: Partial<Limits> = {}): Limits {
  const given = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
  const limits: Limits = { ...LIMIT_DEFAULTS, ...given };
  for (const key of RATES) {
    const rate = limits[key];
    if (!isRateLimit(rate)) {
      throw new RangeError(`Option limits.${key} needs a whole burst of at least 1 and perSecond above 0, got ${JSON.stringify(rate)}`);
    }
  }
  for (const [key, [min, max]] of Object.entries(RANGES)) {
    const value = limits[key as keyof typeof RANGES];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`Option limits.${key} must be an integer from ${min} to ${max}, got ${value}`);
    }
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new RangeError('Option limits.headersTimeoutMs must not be above limits.requestTimeoutMs');
  }
  return Object.freeze({ ...limits, ...Object.fromEntries(RATES.map((key) => [key, Object.freeze({ ...limits[key] })])) });
}
