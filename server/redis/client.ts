/**
 * Connections to Redis as the server's parts need them: a client that reconnects by itself with
 * capped backoff, fails a command at once while the connection is down (`disableOfflineQueue`:
 * a publish must answer 503 now, not hang until Redis returns) and never crashes the process with
 * an unhandled 'error' event (every error is logged, once per outage). Start-up is the exception:
 * a Redis that cannot be reached within `connectTimeoutMs` fails the start with a clear error
 * rather than leaving a node up that can do nothing.
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
} from '@redis/client';
import type { Logger } from 'pino';
import { StoreUnavailableError } from '../common/unavailable';

/** Longest wait between two reconnect attempts, in ms. */
const MAX_RECONNECT_MS = 2_000;
/** Default time a first connection may take, in ms. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export interface ConnectRedisOptions {
  readonly url: string;
  /** What this connection is for, in log lines (`commands`, `bus`, ...). */
  readonly role: string;
  readonly logger: Pick<Logger, 'warn' | 'info'>;
  readonly connectTimeoutMs?: number;
  /** A command Redis has not answered after this long fails (it may still run). Default none. */
  readonly commandTimeoutMs?: number;
}

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

function newClient(url: string, connectTimeout: number, commandTimeout?: number) {
  return createClient({
    url,
    disableOfflineQueue: true,
    ...(commandTimeout === undefined ? {} : { commandOptions: { timeout: commandTimeout } }),
    socket: { connectTimeout, reconnectStrategy: (retries) => Math.min(MAX_RECONNECT_MS, 50 * 2 ** Math.min(retries, 10)) },
  });
}

export type Redis = ReturnType<typeof newClient>;

/** Connects and resolves once Redis answered; rejects with a clear error if it cannot within the timeout. */
export async function connectRedis(options: ConnectRedisOptions): Promise<Redis> {
  const where = redactRedisUrl(options.url);
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const client = newClient(options.url, timeoutMs, options.commandTimeoutMs);
  let down = false;
  client.on('error', (error: unknown) => {
    if (down) return;
    down = true;
    options.logger.warn({ err: error, redis: where, role: options.role }, 'Redis connection lost; reconnecting');
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    options.logger.info({ redis: where, role: options.role }, 'Redis connection back');
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis at ${where} could not be reached within ${timeoutMs} ms (REDIS_URL)`)), timeoutMs);
  });
  try {
    await Promise.race([client.connect(), timedOut]);
  } catch (error) {
    client.destroy();
    throw error instanceof Error && error.message.includes('REDIS_URL') ? error : new Error(`Redis at ${where} could not be reached (REDIS_URL): ${String(error)}`);
  } finally {
    clearTimeout(timer);
  }
  return client;
}

/** Closes a client whatever state it is in: politely when connected, at once when not. */
export async function closeRedis(client: Redis): Promise<void> {
  if (!client.isOpen) return;
  try {
    if (client.isReady) await client.close();
    else client.destroy();
  } catch {
    client.destroy();
  }
}

/** Replies with which Redis says it cannot serve now (loading, read-only replica, …) rather than that the command is wrong. */
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|MISCONF|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|OOM)\b/;

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

/**
 * What a failed command becomes: a `StoreUnavailableError` saying Redis at `url` (redacted) is
 * unavailable when Redis could not be reached, did not answer in time or said it cannot serve now;
 * anything else (a bug in what was sent) as it is.
 */
export function storeError(error: unknown, url: string): unknown {
  const unreachable =
    error instanceof ErrorReply
      ? UNAVAILABLE_REPLY.test(error.message)
      : CONNECTION_ERRORS.some((type) => error instanceof type) ||
        // Node's own socket errors (ECONNREFUSED, ECONNRESET, …) carry a string code.
        (error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string');
  if (!unreachable) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`Redis at ${redactRedisUrl(url)} is unavailable: ${reason}`, { cause: error });
}
