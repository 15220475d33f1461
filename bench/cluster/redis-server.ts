/**
 * A `redis-server` for one benchmark run (Debian's, from `PATH`): a child process of its own on a
 * free port of 127.0.0.1, in a temp directory removed when it is closed, so every run starts from
 * an empty Redis and its CPU time can be read from `/proc`. No RDB snapshots ever; with
 * `persistence: 'aof'` an append-only file synced on every write (`appendfsync always`, what a
 * node needs for nothing acknowledged to be lost when Redis restarts), otherwise none. The tests
 * have their own (`test/support/redis-server.ts`); benchmarks do not import from `test/`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type RedisPersistence = 'none' | 'aof';

export interface BenchRedis {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly pid: number;
  /** Kills it (nothing of it is kept) and removes its directory. */
  close(): Promise<void>;
}

/** How long a `redis-server` may take to say it is ready. */
const READY_TIMEOUT_MS = 10_000;

/** What each persistence setting means, for a table. */
export const PERSISTENCE_NOTE: Readonly<Record<RedisPersistence, string>> = {
  none: 'no persistence: no RDB, no AOF',
  aof: 'AOF with appendfsync always',
};

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startBenchRedis(persistence: RedisPersistence): Promise<BenchRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-bench-redis-'));
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--save', '',
    '--daemonize', 'no',
    ...(persistence === 'aof' ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  let output = '';
  try {
    await new Promise<void>((ready, fail) => {
      const timer = setTimeout(() => fail(new Error(`redis-server on port ${port} was not ready within ${READY_TIMEOUT_MS} ms:\n${output}`)), READY_TIMEOUT_MS);
      const onData = (chunk: Buffer): void => {
        output += chunk.toString('utf8');
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          ready();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('error', (error) => {
        clearTimeout(timer);
        fail(new Error(`redis-server could not be started (is Debian's redis-server installed?): ${error.message}`));
      });
      void exited.then(() => {
        clearTimeout(timer);
        fail(new Error(`redis-server on port ${port} exited before it was ready:\n${output}`));
      });
    });
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid!,
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
