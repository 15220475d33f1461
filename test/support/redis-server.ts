/**
 * Real `redis-server` processes for tests (Debian's, from `PATH`), one per test that needs it, each
 * on a free port of 127.0.0.1 with its own temp directory: never a shared Redis. A test can stop it
 * (SIGTERM), kill it (SIGKILL, a crash) and start it again on the same port, with or without the
 * data it had (`persistence: 'aof'` keeps an `appendfsync always` append-only file in the temp
 * directory; `'none'` keeps nothing, so a restart comes back empty, as a Redis without persistence
 * does).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './server';

export interface TestRedisOptions {
  /** Default `'none'`. */
  readonly persistence?: 'none' | 'aof';
  /** Default a free port. */
  readonly port?: number;
}

export interface TestRedis {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Whether the process is up right now. */
  running(): boolean;
  /** The process id while it runs (for reading its CPU time from `/proc`). */
  pid(): number | undefined;
  /** SIGTERM and wait for the exit (Redis writes nothing more: no RDB snapshots are configured). */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit: a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory, after `stop` or `kill`. */
  start(): Promise<void>;
  /** Kills it if running and removes its directory. Idempotent; for `afterEach`. */
  dispose(): Promise<void>;
}

/** How long a `redis-server` may take to say it is ready. */
const READY_TIMEOUT_MS = 10_000;

export async function startTestRedis(options: TestRedisOptions = {}): Promise<TestRedis> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-redis-'));
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--save', '',
    '--daemonize', 'no',
    '--loglevel', 'notice',
    ...(options.persistence === 'aof' ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  ];
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let disposed = false;

  async function start(): Promise<void> {
    if (child) throw new Error('redis-server is already running');
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    // A test that timed out may never reach its cleanup: the Redis still goes with the test process.
    const orphan = () => proc.kill('SIGKILL');
    process.once('exit', orphan);
    void new Promise((resolve) => proc.once('exit', resolve)).then(() => process.off('exit', orphan));
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    void exited.then(() => {
      if (child === proc) child = null;
    });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server on port ${port} was not ready within ${READY_TIMEOUT_MS} ms:\n${output}`)), READY_TIMEOUT_MS);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.on('data', onData);
      proc.once('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`redis-server could not be started (is Debian's redis-server installed?): ${error.message}`));
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server on port ${port} exited with ${code} before it was ready:\n${output}`));
      });
    });
  }

  async function signal(name: NodeJS.Signals): Promise<void> {
    const proc = child;
    if (!proc) return;
    proc.kill(name);
    await exited;
  }

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    running: () => child !== null,
    pid: () => child?.pid,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    start,
    async dispose() {
      if (disposed) return;
      disposed = true;
      await signal('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
