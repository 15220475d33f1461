/**
 * One connection to Redis as every server part uses it: commands fail fast while Redis is away
 * instead of queueing (node-redis's offline queue would hold them, unbounded, until it returns),
 * the socket reconnects on its own with capped, jittered backoff, and every failure to reach Redis
 * becomes one `StoreUnavailableError` naming the server (without its credentials). node-redis
 * emits `'error'` for each failed socket; an emitter without a listener would crash the process,
 * so one is always attached and forwards to `onError`.
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
import { StoreUnavailableError } from './errors';

export type RedisClient = RedisClientType;

export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]` */
  readonly url: string;
  /** Shown in `CLIENT LIST`, so an operator can tell the server's connections apart. */
  readonly name: string;
  /** How long `openRedisConnection` waits for the first connection before it rejects. Default 10 000 ms. */
  readonly connectTimeoutMs?: number;
  /** A command with no answer after this long rejects as unavailable (it may still run). Default 5 000 ms. */
  readonly commandTimeoutMs?: number;
  /** Every socket error and failed reconnect, for the log. Default: ignored. */
  readonly onError?: (error: Error) => void;
}

export interface RedisConnection {
  /** `url` without credentials, for messages and logs. */
  readonly where: string;
  /** True while the socket is up and ready for commands. */
  ready(): boolean;
  /**
   * Runs `work` (Redis calls only) on the client; a closed connection rejects with a plain error,
   * an unreachable or unwilling Redis with `StoreUnavailableError`, anything else (a script's
   * bug) as it came.
   */
  run<T>(work: (client: RedisClient) => Promise<T>): Promise<T>;
  /** Waits for pending replies, then closes. Idempotent. */
  close(): Promise<void>;
}

/** First reconnect delay and the cap of the backoff (ms). */
const RECONNECT_BASE_MS = 50;
const RECONNECT_CAP_MS = 2_000;

/**
 * Exponential backoff with full jitter, capped
 * (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
 */
export function reconnectDelay(retries: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * 2 ** Math.min(retries, 16)));
}

/** Replies with which Redis says it cannot serve now, rather than that the command is wrong. */
const UNAVAILABLE_REPLIES = ['LOADING', 'BUSY', 'MASTERDOWN', 'READONLY', 'MISCONF', 'TRYAGAIN', 'CLUSTERDOWN', 'NOREPLICAS', 'OOM'];

/** True for a failure to reach Redis (or Redis refusing to serve), as opposed to a bug in what was sent. */
function isUnavailability(error: unknown): boolean {
  if (error instanceof ErrorReply) return UNAVAILABLE_REPLIES.some((code) => error.message.startsWith(code));
  const connectionErrors = [
    ClientOfflineError,
    ClientClosedError,
    SocketClosedUnexpectedlyError,
    ConnectionTimeoutError,
    SocketTimeoutError,
    TimeoutError,
    ReconnectStrategyError,
    DisconnectsClientError,
  ];
  if (connectionErrors.some((type) => error instanceof type)) return true;
  // Node's own socket errors (ECONNREFUSED, ECONNRESET, …) carry a string code.
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}

/** `url` with any user name and password taken out. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return 'redis (unparsable URL)';
  }
}

/** Connects, waiting for the first connection up to `connectTimeoutMs`. */
export async function openRedisConnection(options: RedisConnectionOptions): Promise<RedisConnection> {
  const where = redactUrl(options.url);
  const client: RedisClient = createClient({
    url: options.url,
    name: options.name,
    disableOfflineQueue: true,
    commandOptions: { timeout: options.commandTimeoutMs ?? 5_000 },
    socket: { connectTimeout: 2_000, reconnectStrategy: (retries) => reconnectDelay(retries) },
  });
  client.on('error', (error: Error) => options.onError?.(error));
  let closed = false;

  const unavailable = (cause: unknown): StoreUnavailableError =>
    new StoreUnavailableError(`Redis at ${where} is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });

  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const connected = client.connect();
  try {
    await Promise.race([
      connected,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(unavailable(`no connection within ${connectTimeoutMs} ms`)), connectTimeoutMs);
      }),
    ]);
  } catch (error) {
    client.destroy();
    await connected.catch(() => undefined);
    throw error instanceof StoreUnavailableError ? error : unavailable(error);
  } finally {
    clearTimeout(timer);
  }

  return {
    where,
    ready: () => !closed && client.isReady,
    async run(work) {
      if (closed) throw new Error(`The connection to Redis at ${where} is closed`);
      try {
        return await work(client);
      } catch (error) {
        if (!isUnavailability(error)) throw error;
        if (closed) throw new Error(`The connection to Redis at ${where} is closed`, { cause: error });
        throw unavailable(error);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      // Pending replies are waited for only while Redis answers; without a socket there are none.
      if (client.isReady) await client.close().catch(() => client.destroy());
      else client.destroy();
    },
  };
}
