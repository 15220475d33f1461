/**
 * How the server connects to Redis (node-redis core, `@redis/client`), the same way for every part
 * that keeps state there. While Redis is unreachable a command fails at once with
 * `StoreUnavailableError` instead of waiting in an offline queue (`disableOfflineQueue`), a command
 * Redis does not answer fails after `commandTimeoutMs`, and the client reconnects by itself with a
 * capped, jittered backoff (`lib/backoff.ts`). A socket that dies makes node-redis emit `'error'`,
 * which would crash the process without a listener: every client made here has one, reporting once
 * per outage rather than once per reconnect attempt.
 */
import { ClientClosedError, ClientOfflineError, createClient, ErrorReply, type RedisClientType } from '@redis/client';
import { backoffDelay } from '../../lib/backoff';
import { StoreUnavailableError } from './store-errors';

export type Redis = RedisClientType;

export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  readonly url: string;
  /** Hears the first connection error of each outage (the client keeps reconnecting). Default `console.error`. */
  readonly onConnectionError?: (error: unknown) => void;
  /** Opening gives up (with `StoreUnavailableError`) after this long without a connection. Default 10000. */
  readonly connectTimeoutMs?: number;
  /** A command Redis has not answered after this long fails. Default 5000. */
  readonly commandTimeoutMs?: number;
}

/** Reconnect delays: the first retry within 50 ms, never more than 2 s apart. */
const RECONNECT = { baseMs: 50, capMs: 2_000, minMs: 20 } as const;

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

/**
 * Replies that mean "not now" rather than "wrong": the server is loading its data, is a read-only
 * replica, is out of memory, cannot persist, or is busy running a script.
 * https://redis.io/docs/latest/develop/reference/protocol-spec/#simple-errors
 */
const UNAVAILABLE_REPLY = /^(LOADING|READONLY|OOM|MISCONF|MASTERDOWN|BUSY|NOREPLICAS|CLUSTERDOWN|TRYAGAIN)\b/;

/**
 * `error` as what the caller should see: a connection problem, a timeout, or a "not now" reply
 * becomes `StoreUnavailableError` saying what could not be done, and whether Redis may have done it
 * all the same (a command sent before the connection died or timed out may have run); any other
 * error is returned as it is.
 */
export function unavailableError(error: unknown, what: string): unknown {
  if (error instanceof StoreUnavailableError || !(error instanceof Error)) return error;
  if (error instanceof ErrorReply && !UNAVAILABLE_REPLY.test(error.message)) return error;
  const unsent = error instanceof ClientOfflineError || error instanceof ClientClosedError || error instanceof ErrorReply;
  const outcome = unsent ? 'not done' : 'Redis may have done it before the connection failed';
  return new StoreUnavailableError(`Redis is unavailable: could not ${what} (${error.message}; ${outcome})`, { cause: error });
}

/** Runs `command`, turning unavailability into `StoreUnavailableError` (see `unavailableError`). */
export async function withRedis<T>(what: string, command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (error) {
    throw unavailableError(error, what);
  }
}

/** A client for `options.url`, not connected yet; `connectRedis` connects it. */
export function createRedis(options: RedisConnectionOptions, name: string): Redis {
  const report = options.onConnectionError ?? ((error: unknown) => console.error(`redis (${name}) connection failed`, error));
  const client: Redis = createClient({
    url: options.url,
    name,
    disableOfflineQueue: true,
    commandOptions: { timeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS },
    socket: {
      connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      reconnectStrategy: (retries: number) => backoffDelay(retries, RECONNECT, Math.random),
    },
  });
  let reported = false;
  client.on('error', (error: unknown) => {
    if (reported) return;
    reported = true;
    report(error);
  });
  client.on('ready', () => {
    reported = false;
  });
  return client;
}

/**
 * Connects `client`, waiting at most `timeoutMs` for Redis to answer; on giving up the client is
 * destroyed and the promise rejects with `StoreUnavailableError`.
 */
export async function connectRedis(client: Redis, url: string, timeoutMs = DEFAULT_CONNECT_TIMEOUT_MS): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const gaveUp = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  const connected = client.connect().then(
    () => 'connected' as const,
    (error: unknown) => error,
  );
  try {
    const outcome = await Promise.race([connected, gaveUp]);
    if (outcome === 'connected') return;
    client.destroy();
    const cause = outcome === 'timeout' ? undefined : outcome;
    throw new StoreUnavailableError(`Redis at ${redactUrl(url)} did not answer within ${timeoutMs} ms`, { cause });
  } finally {
    clearTimeout(timer);
  }
}

/** `url` without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an invalid Redis URL)';
  }
}
