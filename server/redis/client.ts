/**
 * How every part of the server that keeps state in Redis connects to it (node-redis core,
 * `@redis/client`), and what a failure to reach it becomes. A client made here:
 * - fails a command at once while the connection is down (`disableOfflineQueue`: a publish must
 *   answer 503 now, not hang until Redis returns), and one Redis does not answer within
 *   `commandTimeoutMs`;
 * - reconnects by itself with a capped, jittered backoff (`lib/backoff.ts`);
 * - never crashes the process with an unhandled 'error' event (node-redis emits one whenever the
 *   socket dies): the first error of each outage is reported, and the end of it logged.
 * Start-up is the exception to "wait it out": a Redis that cannot be reached within
 * `connectTimeoutMs` fails the opening with an error naming REDIS_URL (password hidden) rather than
 * leaving a node up that can do nothing. Every failure that means "Redis cannot serve this now"
 * becomes `StoreUnavailableError` (`unavailableError`), which the HTTP layer answers with 503.
 */
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  createClient,
  DisconnectsClientError,
  ErrorReply,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
  type RedisClientType,
} from '@redis/client';
import type { Logger } from 'pino';
import { backoffDelay } from '../../lib/backoff';
import { StoreUnavailableError } from '../common/unavailable';

export type Redis = RedisClientType;

/** What a connection tells of its outages: a warning when one begins, a line when it ends. */
export type RedisLogger = Pick<Logger, 'warn' | 'info'>;

export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]` (REDIS_URL). */
  readonly url: string;
  /** Hears each outage of the connection and its end. Default: `console.error` for the outage. */
  readonly logger?: RedisLogger;
  /** Hears the first error of each outage instead of `logger.warn` (the client keeps reconnecting). */
  readonly onConnectionError?: (error: unknown) => void;
  /** Opening gives up (with `StoreUnavailableError`) after this long without a connection, in ms. Default 5000. */
  readonly connectTimeoutMs?: number;
  /** A command Redis has not answered after this long fails as unavailable (it may still run), in ms. Default 5000. */
  readonly commandTimeoutMs?: number;
}

/** Reconnect delays: the first retry within 50 ms, never more than 2 s apart. */
const RECONNECT = { baseMs: 50, capMs: 2_000, minMs: 20 } as const;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

/** `url` with any password replaced, for log lines and errors. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an invalid URL)';
  }
}

function newClient(options: RedisConnectionOptions, role: string, connectTimeout: number): Redis {
  try {
    return createClient({
      url: options.url,
      // Shown by CLIENT LIST, which refuses spaces.
      name: `switchboard-${role.replace(/[^\w-]+/g, '-')}`,
      disableOfflineQueue: true,
      commandOptions: { timeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS },
      socket: { connectTimeout, reconnectStrategy: (retries: number) => backoffDelay(retries, RECONNECT, Math.random) },
    });
  } catch (error) {
    // Bad configuration, not an outage: say which setting is wrong.
    throw new Error(`REDIS_URL ${redactRedisUrl(options.url)} is not a Redis URL: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** Reports the first error of each outage (not one per reconnect attempt) and logs its end. */
function reportOutages(client: Redis, options: RedisConnectionOptions, role: string): void {
  const where = redactRedisUrl(options.url);
  const { logger } = options;
  const report =
    options.onConnectionError ??
    (logger
      ? (error: unknown) => logger.warn({ err: error, redis: where, role }, 'Redis connection lost; reconnecting')
      : (error: unknown) => console.error(`Redis connection (${role}) at ${where} lost; reconnecting`, error));
  let down = false;
  client.on('error', (error: unknown) => {
    if (down) return;
    down = true;
    report(error);
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    logger?.info({ redis: where, role }, 'Redis connection back');
  });
}

/**
 * A client connected to `options.url`, `role` naming it in logs and CLIENT LIST (`log`,
 * `price-ticks`, ...). Rejects with `StoreUnavailableError` naming REDIS_URL when Redis cannot be
 * reached within `connectTimeoutMs` (the client is then destroyed), and with a plain `Error` when
 * the URL is not one.
 */
export async function connectRedis(options: RedisConnectionOptions, role: string): Promise<Redis> {
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const client = newClient(options, role, timeoutMs);
  reportOutages(client, options, role);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const gaveUp = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  // Handled here, so the rejection that follows `destroy()` after a timeout is not left unhandled.
  const connected = client.connect().then(
    () => 'connected' as const,
    (error: unknown) => ({ error }),
  );
  try {
    const outcome = await Promise.race([connected, gaveUp]);
    if (outcome === 'connected') return client;
    client.destroy();
    const cause = outcome === 'timeout' ? undefined : outcome.error;
    const why = cause === undefined ? '' : `: ${cause instanceof Error ? cause.message : String(cause)}`;
    throw new StoreUnavailableError(`Redis at ${redactRedisUrl(options.url)} could not be reached within ${timeoutMs} ms (REDIS_URL)${why}`, { cause });
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a client whatever state it is in: politely when connected (replies to commands sent are awaited), at once when not. */
export async function closeRedis(client: Redis): Promise<void> {
  if (!client.isOpen) return;
  try {
    if (client.isReady) await client.close();
    else client.destroy();
  } catch {
    client.destroy();
  }
}

/**
 * Replies that mean "not now" rather than "wrong": the server is loading its data, is a read-only
 * replica, is out of memory, cannot persist, or is busy running a script.
 * https://redis.io/docs/latest/develop/reference/protocol-spec/#simple-errors
 */
const UNAVAILABLE_REPLY = /^(LOADING|READONLY|OOM|MISCONF|MASTERDOWN|BUSY|NOREPLICAS|CLUSTERDOWN|TRYAGAIN)\b/;

/** Failures to reach Redis or to hear from it in time. */
const CONNECTION_ERRORS = [
  ClientOfflineError,
  ClientClosedError,
  SocketClosedUnexpectedlyError,
  ConnectionTimeoutError,
  SocketTimeoutError,
  TimeoutError,
  ReconnectStrategyError,
  DisconnectsClientError,
];

/** Failures of a command that was never sent, or that Redis refused before running it. */
const notSent = (error: Error): boolean => error instanceof ClientOfflineError || error instanceof ClientClosedError || error instanceof ErrorReply;

/** `StoreUnavailableError` saying Redis at `url` (password hidden) could not do `what`, and why. */
export function redisUnavailable(url: string, what: string, reason: string, cause?: unknown): StoreUnavailableError {
  return new StoreUnavailableError(`Redis at ${redactRedisUrl(url)} is unavailable: could not ${what} (${reason})`, { cause });
}

/**
 * `error` as what the caller of a command on Redis at `url` should see: a connection problem, a
 * timeout or a "not now" reply becomes `StoreUnavailableError` saying what could not be done and
 * whether Redis may have done it all the same (a command sent before the connection died or timed
 * out may have run); any other error (a bug in what was sent) is returned as it is.
 */
export function unavailableError(error: unknown, url: string, what: string): unknown {
  if (!(error instanceof Error) || error instanceof StoreUnavailableError) return error;
  const unavailable =
    error instanceof ErrorReply
      ? UNAVAILABLE_REPLY.test(error.message)
      : CONNECTION_ERRORS.some((type) => error instanceof type) ||
        // Node's own socket errors (ECONNREFUSED, ECONNRESET, ...) carry a string code.
        typeof (error as NodeJS.ErrnoException).code === 'string';
  if (!unavailable) return error;
  const outcome = notSent(error) ? 'not done' : 'Redis may have done it before the connection failed';
  return redisUnavailable(url, what, `${error.message}; ${outcome}`, error);
}

/** Runs `command` on Redis at `url`, turning unavailability into `StoreUnavailableError` (see `unavailableError`). */
export async function withRedis<T>(url: string, what: string, command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (error) {
    throw unavailableError(error, url, what);
  }
}
