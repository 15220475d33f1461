/**
 * The server's options, each default in its doc comment and its value in `DEFAULTS` (which
 * `env.ts` reads too), and the one place they are resolved and checked. Nothing here reads the
 * environment: `env.ts` turns it into options. Everything below `startServer` receives the
 * resolved, frozen `ServerOptions`.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pino, { type LevelWithSilent, type Logger } from 'pino';
import { DEFAULT_LIMITS } from '../lib/wire/codec';
import type { TokenVerifier } from './auth/checks';
import { isTokenTtl, MAX_TOKEN_TTL_SECONDS, MIN_SECRET_LENGTH } from './auth/tokens';
import type { StoreKind } from './event-log/open';
import { resolveRetention, type EventLog, type Retention } from './event-log/types';
import { LIMIT_DEFAULTS, resolveLimits, type Limits } from './limits/options';

/** Price simulator settings; `'off'` disables it. */
export interface SimulatorOptions {
  /** Ticks per second across all symbols. Default 5. */
  readonly ticksPerSecond: number;
  /** Symbols to simulate. Default: the ~20 well-known symbols in `prices/simulator.ts`. */
  readonly symbols?: readonly string[];
}

export interface ServerOptions {
  /** TCP port; `0` picks a free one (see `RunningServer.port`). Default 8787. */
  readonly port: number;
  /** Interface to listen on. Default `127.0.0.1`. */
  readonly host: string;
  /** Bearer token of the admin HTTP API. Default: a random token (read it from `RunningServer`). */
  readonly adminToken: string;
  /**
   * Where stream topics are logged: `sqlite` (a file in `dataDir`, durable), `memory` (tests; every
   * restart starts new epochs) or `redis` (at `redisUrl`, shared by several nodes). Default `sqlite`,
   * or `redis` when `redisUrl` is given.
   */
  readonly store: StoreKind;
  /** Directory of the SQLite file and the generated token secret. Default `./data`. */
  readonly dataDir: string;
  /** An already open log to use instead of opening `store` (the server does not close it). Default none. */
  readonly eventLog?: EventLog;
  /**
   * `redis://host:port` (`REDIS_URL`): this node is one of several that share this Redis and form
   * one service. Prices go through it to every node. Default none: one node on its own.
   */
  readonly redisUrl?: string;
  /** What each topic's log keeps. Default 10000 events and 30 days (`RETENTION_EVENTS`, `RETENTION_DAYS`). */
  readonly retention: Retention;
  /**
   * Secret that signs access tokens (at least 32 characters). Default: with `sqlite`, the one kept in
   * `dataDir/token-secret` (made on first start, mode 0600); with `memory`, a random one per start.
   */
  readonly tokenSecret?: string;
  /** Lifetime of a minted access token when `POST /api/tokens` asks for none. Default 30 days (`TOKEN_TTL_SECONDS`). */
  readonly tokenTtlSeconds: number;
  /** A fixed access token accepted as user `dev`, never expiring. Tests only. Default none: only minted tokens are accepted. */
  readonly devToken?: string;
  /** Replaces the access-token check of `hello` and `refresh`. Default: the JWT check (plus `devToken` if set). */
  readonly verifyToken?: TokenVerifier;
  /** Extra origins allowed to open `/ws`, e.g. `https://example.com`. Default none. */
  readonly allowedOrigins: readonly string[];
  /** Accept any `chrome-extension://` / `moz-extension://` origin. Default `true` (`env.ts` sets `false` under `NODE_ENV=production`). */
  readonly allowExtensionOrigins: boolean;
  /**
   * The built web dashboard served at `/` (`npm run build:dashboard` writes it). Default
   * `<repository>/.output/dashboard`, found from this file rather than the working directory
   * (`DASHBOARD_DIR`).
   */
  readonly dashboardDir: string;
  /** Price simulator, or `'off'`. Default `{ ticksPerSecond: 5 }`. */
  readonly simulator: SimulatorOptions | 'off';
  /** Interval of the server's application pings; silence for twice this closes with 4008. Default 15000. */
  readonly heartbeatMs: number;
  /** Time allowed between the upgrade and the client's `hello`. Default 10000. */
  readonly handshakeTimeoutMs: number;
  /** Shortest time between two sends of one busy price topic (ticks in between are conflated to the latest); a quiet topic sends at once. Default 20 (`FLUSH_MS`). */
  readonly flushMs: number;
  /** Largest accepted WebSocket message (the `ws` maxPayload; bigger closes with 1009). Default `DEFAULT_LIMITS.maxFrameBytes`. */
  readonly maxFrameBytes: number;
  /** A connection whose send buffer holds more than this skips flushes (latest values are kept); also the most one long-poll answer carries. Default 1 MiB. */
  readonly maxBufferedBytes: number;
  /**
   * Over this many bytes queued for a connection and not yet written (whatever the frames:
   * snapshots, replays, acks, errors), it is closed with 1013 rather than grow the server's memory
   * or drop stream events. Default 16 MiB (`MAX_BACKLOG_BYTES`).
   */
  readonly maxBacklogBytes: number;
  /** A replay waiting longer than this for a socket to drain closes that connection with 1013. Default 30000. */
  readonly drainTimeoutMs: number;
  /** Bad frames tolerated on one connection before it is closed with 4000. Default 10. */
  readonly maxBadFrames: number;
  /** Topics one connection may hold at once. Default 1000. */
  readonly maxTopicsPerConnection: number;
  /** How often alert expiries are swept (without waiting for a tick) and symbols' last prices saved. Default 1000. */
  readonly alertSweepMs: number;
  /**
   * How long applied client message ids and their acks are kept to answer repeats: at least as
   * long as a hub retries one (its outbox gives up after 7 days). Default 7 days (`CLIENT_MESSAGE_RETENTION_DAYS`).
   */
  readonly clientMessageRetentionMs: number;
  /**
   * Applied client message ids kept per user; past it the oldest are forgotten (a retry of one is
   * decided afresh). Refused messages are never recorded. Default 1000 (`CLIENT_MESSAGE_IDS_PER_USER`).
   */
  readonly maxClientMessageIdsPerUser: number;
  /** An HTTP transport session nobody streams or polls for this long is closed (4008). Default 60000. */
  readonly sessionIdleMs: number;
  /** Interval of the heartbeat comments on an SSE stream (at most 20 s, so idle proxies keep it). Default 15000. */
  readonly streamHeartbeatMs: number;
  /** How long a long poll waits for a frame before it is answered with none. Default 25000. */
  readonly pollTimeoutMs: number;
  /** Largest `POST /rt/sessions/<id>/frames` body (frames in base64 inside JSON). Default 256 KiB. */
  readonly maxPostBytes: number;
  /** How long `close()` waits for clients to answer the 1001 close before cutting them off. Default 2000. */
  readonly shutdownGraceMs: number;
  /**
   * Rate limits and caps: frame rates per connection and per user, connections per user, per
   * address and in all, sockets, HTTP timeouts. Each default is in `limits/options.ts` (`LIMIT_DEFAULTS`).
   */
  readonly limits: Limits;
  /** Structured logger. Default: pino at `logLevel` on stdout. */
  readonly logger: Logger;
  /** Wall clock in ms, injectable for tests. Default `Date.now`. */
  readonly now: () => number;
}

/** The integer options' allowed ranges, `[min, max]`, checked by `resolveOptions` (and by the environment readers, to name the variable). */
export const OPTION_RANGES = {
  heartbeatMs: [50, 60_000],
  handshakeTimeoutMs: [10, 600_000],
  flushMs: [1, 10_000],
  drainTimeoutMs: [10, 600_000],
  maxFrameBytes: [1024, 16 * 1024 * 1024],
  alertSweepMs: [10, 3_600_000],
  sessionIdleMs: [50, 3_600_000],
  streamHeartbeatMs: [10, 20_000],
  pollTimeoutMs: [10, 120_000],
  maxPostBytes: [1024, 64 * 1024 * 1024],
  clientMessageRetentionMs: [60_000, 365 * 24 * 3600 * 1000],
  maxClientMessageIdsPerUser: [1, 1_000_000],
} as const;

/** The fastest simulator allowed, in ticks per second. */
export const MAX_SIMULATOR_RATE = 10_000;

/** `<repository>/.output/dashboard`, wherever the server is started from. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../.output/dashboard', import.meta.url));

/**
 * Every default that is a plain value, defined once: `resolveOptions` fills options in from it and
 * `readEnv` falls back to it for unset variables. Retention's are `DEFAULT_RETENTION`.
 */
export const DEFAULTS = Object.freeze({
  port: 8787,
  host: '127.0.0.1',
  store: 'sqlite' as StoreKind,
  dataDir: './data',
  tokenTtlSeconds: 30 * 24 * 3600,
  allowExtensionOrigins: true,
  dashboardDir: DEFAULT_DASHBOARD_DIR,
  simulator: Object.freeze({ ticksPerSecond: 5 }),
  heartbeatMs: 15_000,
  handshakeTimeoutMs: 10_000,
  flushMs: 20,
  maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes,
  maxBufferedBytes: 1024 * 1024,
  maxBacklogBytes: 16 * 1024 * 1024,
  drainTimeoutMs: 30_000,
  maxBadFrames: 10,
  maxTopicsPerConnection: 1000,
  alertSweepMs: 1000,
  clientMessageRetentionMs: 7 * 24 * 3600 * 1000,
  maxClientMessageIdsPerUser: 1000,
  shutdownGraceMs: 2000,
  sessionIdleMs: 60_000,
  streamHeartbeatMs: 15_000,
  pollTimeoutMs: 25_000,
  maxPostBytes: 256 * 1024,
  limits: LIMIT_DEFAULTS,
  logLevel: 'info' as LevelWithSilent,
});

/** The admin token made when none is given. */
export const randomAdminToken = (): string => randomBytes(24).toString('base64url');

/** What `startServer` takes: any option, retention limits and rate limits one at a time, and the default logger's level. */
export type ServerInput = Readonly<Partial<Omit<ServerOptions, 'retention' | 'limits'>>> & {
  readonly retention?: Partial<Retention>;
  readonly limits?: Partial<Limits>;
  /** Level of the default logger (not used when `logger` is given). Default `info` (`LOG_LEVEL`). */
  readonly logLevel?: LevelWithSilent;
};

/** Fills in defaults and rejects values that would break the protocol (e.g. a heartbeat `welcome` cannot carry). */
export function resolveOptions(input: ServerInput): ServerOptions {
  const resolved: ServerOptions = {
    port: input.port ?? DEFAULTS.port,
    host: input.host ?? DEFAULTS.host,
    adminToken: input.adminToken ?? randomAdminToken(),
    // Several nodes keep everything in the Redis they share.
    store: input.store ?? (input.redisUrl === undefined ? DEFAULTS.store : 'redis'),
    dataDir: input.dataDir ?? DEFAULTS.dataDir,
    ...(input.eventLog ? { eventLog: input.eventLog } : {}),
    ...(input.redisUrl === undefined ? {} : { redisUrl: input.redisUrl }),
    retention: resolveRetention(input.retention),
    ...(input.tokenSecret === undefined ? {} : { tokenSecret: input.tokenSecret }),
    tokenTtlSeconds: input.tokenTtlSeconds ?? DEFAULTS.tokenTtlSeconds,
    ...(input.devToken === undefined ? {} : { devToken: input.devToken }),
    ...(input.verifyToken ? { verifyToken: input.verifyToken } : {}),
    allowedOrigins: input.allowedOrigins ?? [],
    allowExtensionOrigins: input.allowExtensionOrigins ?? DEFAULTS.allowExtensionOrigins,
    dashboardDir: input.dashboardDir ?? DEFAULTS.dashboardDir,
    simulator: input.simulator ?? DEFAULTS.simulator,
    heartbeatMs: input.heartbeatMs ?? DEFAULTS.heartbeatMs,
    handshakeTimeoutMs: input.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs,
    flushMs: input.flushMs ?? DEFAULTS.flushMs,
    maxFrameBytes: input.maxFrameBytes ?? DEFAULTS.maxFrameBytes,
    maxBufferedBytes: input.maxBufferedBytes ?? DEFAULTS.maxBufferedBytes,
    maxBacklogBytes: input.maxBacklogBytes ?? DEFAULTS.maxBacklogBytes,
    drainTimeoutMs: input.drainTimeoutMs ?? DEFAULTS.drainTimeoutMs,
    maxBadFrames: input.maxBadFrames ?? DEFAULTS.maxBadFrames,
    maxTopicsPerConnection: input.maxTopicsPerConnection ?? DEFAULTS.maxTopicsPerConnection,
    alertSweepMs: input.alertSweepMs ?? DEFAULTS.alertSweepMs,
    clientMessageRetentionMs: input.clientMessageRetentionMs ?? DEFAULTS.clientMessageRetentionMs,
    maxClientMessageIdsPerUser: input.maxClientMessageIdsPerUser ?? DEFAULTS.maxClientMessageIdsPerUser,
    shutdownGraceMs: input.shutdownGraceMs ?? DEFAULTS.shutdownGraceMs,
    sessionIdleMs: input.sessionIdleMs ?? DEFAULTS.sessionIdleMs,
    streamHeartbeatMs: input.streamHeartbeatMs ?? DEFAULTS.streamHeartbeatMs,
    pollTimeoutMs: input.pollTimeoutMs ?? DEFAULTS.pollTimeoutMs,
    maxPostBytes: input.maxPostBytes ?? DEFAULTS.maxPostBytes,
    limits: resolveLimits(input.limits),
    logger: input.logger ?? pino({ name: 'switchboard', level: input.logLevel ?? DEFAULTS.logLevel }),
    now: input.now ?? Date.now,
  };
  for (const [key, [min, max]] of Object.entries(OPTION_RANGES)) {
    const value = resolved[key as keyof typeof OPTION_RANGES];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`Option ${key} must be an integer from ${min} to ${max}, got ${value}`);
    }
  }
  if (!Number.isInteger(resolved.port) || resolved.port < 0 || resolved.port > 65_535) {
    throw new RangeError(`Option port must be an integer from 0 to 65535, got ${resolved.port}`);
  }
  if (resolved.adminToken.length < 8) throw new RangeError('Option adminToken must be at least 8 characters');
  if ((resolved.store === 'redis') !== (resolved.redisUrl !== undefined)) {
    throw new RangeError('Option redisUrl goes with store "redis" (both or neither): several nodes keep everything in the Redis they share');
  }
  if (resolved.redisUrl !== undefined && resolved.tokenSecret === undefined && resolved.verifyToken === undefined) {
    throw new RangeError('Option redisUrl needs tokenSecret, the same on every node, so a token minted on one node works on all');
  }
  if (resolved.devToken !== undefined && resolved.devToken.length === 0) throw new RangeError('Option devToken must not be empty');
  if (resolved.tokenSecret !== undefined && resolved.tokenSecret.length < MIN_SECRET_LENGTH) {
    throw new RangeError(`Option tokenSecret must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  if (!isTokenTtl(resolved.tokenTtlSeconds)) {
    throw new RangeError(`Option tokenTtlSeconds must be an integer from 1 to ${MAX_TOKEN_TTL_SECONDS}, got ${resolved.tokenTtlSeconds}`);
  }
  if (!(resolved.maxBacklogBytes > Math.max(resolved.maxBufferedBytes, resolved.maxFrameBytes))) {
    throw new RangeError('Option maxBacklogBytes must be above maxBufferedBytes and maxFrameBytes');
  }
  const sim = resolved.simulator;
  if (sim !== 'off' && !(Number.isFinite(sim.ticksPerSecond) && sim.ticksPerSecond > 0 && sim.ticksPerSecond <= MAX_SIMULATOR_RATE)) {
    throw new RangeError(`Simulator ticksPerSecond must be above 0 and at most ${MAX_SIMULATOR_RATE}, got ${sim.ticksPerSecond}`);
  }
  return Object.freeze(resolved);
}
