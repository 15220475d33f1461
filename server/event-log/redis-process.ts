/**
 * Which Redis process the log's command connection reaches, learnt again on every connection: its
 * `run_id` (a restart changes it) and whether a restart of it loses nothing, that is AOF with
 * `appendfsync always` (asked with `CONFIG GET`, or told by the operator where managed Redis
 * refuses `CONFIG`). The append and head scripts compare the `run_id` with the one stored in a
 * topic's meta to tell a log that survived a lossy restart (`redis-scripts.ts`). Between a
 * connection dropping and the new one being identified, writes are refused as unavailable rather
 * than sent with what may be the previous process's identity.
 */
import { redisUnavailable, unavailableError, withRedis, type Redis } from '../redis/client';

export interface RedisProcess {
  readonly run: string;
  /** `'1'` when a restart of this Redis keeps every acknowledged write, as the scripts take it. */
  readonly durable: '1' | '0';
}

export interface RedisProcessTracker {
  /** Identifies the process of the connection open now; rejects if that fails. */
  start(): Promise<void>;
  /** The process of the current connection, or `StoreUnavailableError` saying `what` could not be done. */
  current(what: string): RedisProcess;
  /** Whether the current connection's process is known. */
  known(): boolean;
}

export interface RedisProcessDeps {
  /** The client's URL, for error messages. */
  readonly url: string;
  /** Overrides asking Redis whether a restart keeps every write. */
  readonly restartKeepsLog?: boolean;
  /** A connection's process was identified (after a reconnect too). */
  readonly onIdentified: () => void;
  readonly onError: (error: unknown) => void;
  /** Pause before asking again when identifying a connection failed while it stayed up. Default 1000. */
  readonly retryMs?: number;
}

export function trackRedisProcess(client: Redis, deps: RedisProcessDeps): RedisProcessTracker {
  let process: RedisProcess | undefined;
  /** Counts connections, so an answer from one that has gone since is ignored. */
  let connection = 0;

  async function identify(): Promise<RedisProcess> {
    const info = await client.info('server');
    const run = /^run_id:(\w+)/m.exec(String(info))?.[1];
    if (!run) throw new Error('Redis did not give its run_id in INFO server');
    return { run, durable: (deps.restartKeepsLog ?? (await keepsEveryWrite())) ? '1' : '0' };
  }

  async function keepsEveryWrite(): Promise<boolean> {
    try {
      const config = (await client.configGet(['appendonly', 'appendfsync'])) as Record<string, string>;
      return config.appendonly === 'yes' && config.appendfsync === 'always';
    } catch {
      // Managed Redis often refuses CONFIG: then assume a restart may lose recent writes.
      return false;
    }
  }

  function identifyConnection(mine: number): void {
    identify().then(
      (found) => {
        if (mine !== connection) return;
        process = found;
        deps.onIdentified();
      },
      (error: unknown) => {
        if (mine !== connection) return;
        deps.onError(unavailableError(error, deps.url, 'identify the Redis process'));
        setTimeout(() => mine === connection && client.isReady && identifyConnection(mine), deps.retryMs ?? 1_000).unref();
      },
    );
  }

  client.on('error', () => {
    process = undefined;
    connection += 1;
  });
  client.on('ready', () => identifyConnection(++connection));

  return {
    async start() {
      process = await withRedis(deps.url, 'identify the Redis process', identify);
    },
    current(what) {
      if (process) return process;
      throw redisUnavailable(deps.url, what, 'reconnecting; not done');
    },
    known: () => process !== undefined,
  };
}
