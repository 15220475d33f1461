/**
 * A `redis-server` for one benchmark run: the same one the tests start (`test/support/redis-server.ts`,
 * as `bench/peers/systems.ts` takes its servers from `test/support/server.ts`), a child process
 * of its own on a free port of 127.0.0.1 in a temp directory, so every run starts from an empty
 * Redis and its CPU time can be read from `/proc`. No RDB snapshots ever; with `persistence: 'aof'`
 * an append-only file synced on every write (`appendfsync always`, what a node needs for nothing
 * acknowledged to be lost when Redis restarts), otherwise none.
 */
import { startTestRedis } from '../../test/support/redis-server';

export type RedisPersistence = 'none' | 'aof';

export interface BenchRedis {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly pid: number;
  /** Kills it (nothing of it is kept) and removes its directory. */
  close(): Promise<void>;
}

/** What each persistence setting means, for a table. */
export const PERSISTENCE_NOTE: Readonly<Record<RedisPersistence, string>> = {
  none: 'no persistence: no RDB, no AOF',
  aof: 'AOF with appendfsync always',
};

export async function startBenchRedis(persistence: RedisPersistence): Promise<BenchRedis> {
  const redis = await startTestRedis({ persistence });
  const pid = redis.pid();
  if (pid === undefined) throw new Error('redis-server started but has no process id');
  return { url: redis.url, pid, close: () => redis.dispose() };
}
