/**
 * Real Switchboard servers for tests, two ways: `startTestServer` runs one in this process (port 0,
 * simulator off, silent logger, memory store, known admin token and token secret) and
 * `spawnServerProcess` runs `server/main.ts` as a child process, the way `npm run server` does
 * (SQLite store in a temp `DATA_DIR` kept across restarts), so a test can SIGTERM it, SIGKILL it (a
 * crash) and restart it on the same port. Both expose the admin API and metrics through real HTTP.
 *
 * Every test server signs tokens with `TEST_TOKEN_SECRET`, so `TEST_DEV_TOKEN` (a real JWT for user
 * `dev`) opens a connection to any of them, and `signTestToken` can forge, expire or misaddress one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import pino from 'pino';
import type { ServerAlert } from '../../lib/wire/alerts';
import type { NotificationData } from '../../lib/wire/notifications';
import type { PriceTick } from '../../lib/wire/prices';
import { startServer, type Retention, type RunningServer, type ServerInput } from '../../server/server';
import { poll } from './poll';

/** The admin token every test server uses unless told otherwise. */
export const TEST_ADMIN_TOKEN = 'test-admin-token';
/** The secret every test server signs access tokens with unless told otherwise. */
export const TEST_TOKEN_SECRET = 'switchboard-test-token-secret-0123456789';

export interface TestTokenClaims {
  /** The user (`sub`). */
  readonly sub: string;
  /** Default `TEST_TOKEN_SECRET`; another one makes a forged token. */
  readonly secret?: string;
  /** `iat` in seconds. Default now. */
  readonly issuedAt?: number;
  /** `exp` in seconds. Default an hour after `issuedAt`. */
  readonly expiresAt?: number;
  /** Default `switchboard`. */
  readonly issuer?: string;
  /** Default `switchboard`. */
  readonly audience?: string;
}

/** Signs an HS256 access token directly with jose, bypassing the admin API (for expired, forged or odd tokens). */
export function signTestToken(claims: TestTokenClaims): Promise<string> {
  const issuedAt = claims.issuedAt ?? Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(claims.issuer ?? 'switchboard')
    .setAudience(claims.audience ?? 'switchboard')
    .setIssuedAt(issuedAt)
    .setExpirationTime(claims.expiresAt ?? issuedAt + 3600)
    .sign(new TextEncoder().encode(claims.secret ?? TEST_TOKEN_SECRET));
}

/** An access token for user `dev` that every test server accepts, valid for ten years. */
export const TEST_DEV_TOKEN = await signTestToken({ sub: 'dev', expiresAt: Math.floor(Date.now() / 1000) + 10 * 365 * 24 * 3600 });

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON when the response is JSON, otherwise the text. */
  readonly body: unknown;
  readonly text: string;
}

export interface RequestOptions {
  /** JSON-encoded unless already a string. */
  readonly body?: unknown;
  /** Bearer token; default the admin token, `null` sends no Authorization header. */
  readonly token?: string | null;
  readonly headers?: Readonly<Record<string, string>>;
}

/** HTTP helpers shared by in-process and child-process servers. */
export interface ServerHttp {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly adminToken: string;
  /** Any HTTP request against the server; never throws on a non-2xx status. */
  request(method: string, path: string, options?: RequestOptions): Promise<HttpAnswer>;
  /** `POST /api/prices` with the admin token; resolves with the tick, throws unless 200. */
  publishPrice(symbol: string, price: number): Promise<PriceTick & { topic: string }>;
  /** `POST /api/tokens`: a fresh access token for `user`; throws unless 200. */
  mintToken(user: string, ttlSeconds?: number): Promise<string>;
  /** `POST /api/notifications`: resolves once the event is durable; throws unless 200. */
  publishNotification(user: string, data: NotificationInput): Promise<Published>;
  /** `POST /api/news`; throws unless 200. */
  publishNews(data: NotificationInput): Promise<Published>;
  /** `POST /api/topics/reset`: the topic's new epoch; throws unless 200. */
  resetTopic(topic: string): Promise<{ topic: string; epoch: string }>;
  /** `GET /api/alerts?user=U`: the user's alerts as the server holds them, newest first; throws unless 200. */
  alerts(user: string): Promise<ServerAlert[]>;
  /** Reads `GET /metrics`: the sum of the series of `name` whose labels include `labels` (0 if none). */
  metric(name: string, labels?: Readonly<Record<string, string>>): Promise<number>;
  /** Re-reads `/metrics` until `predicate` holds for the value, and resolves with it (`poll`'s timeout). */
  waitForMetric(name: string, predicate: (value: number) => boolean, labels?: Readonly<Record<string, string>>): Promise<number>;
}

/** What a publisher sends (`level` defaults to `info` on the server). */
export type NotificationInput = Pick<NotificationData, 'title' | 'body'> & Partial<Pick<NotificationData, 'level' | 'url'>>;

/** Where a published event went. */
export interface Published {
  readonly topic: string;
  readonly epoch: string;
  readonly seq: number;
}

/** Parses Prometheus text exposition and sums the matching series. */
export function readMetric(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const series = new Map<string, string>();
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) series.set(pair[1]!, pair[2]!);
    if (Object.entries(labels).every(([key, value]) => series.get(key) === value)) sum += Number(match[3]);
  }
  return sum;
}

function createServerHttp(url: string, adminToken: string): ServerHttp {
  /** An admin POST that must succeed; its JSON answer. */
  async function post(path: string, body: unknown): Promise<unknown> {
    const answer = await http.request('POST', path, { body });
    if (answer.status !== 200) throw new Error(`POST ${path} answered ${answer.status}: ${answer.text}`);
    return answer.body;
  }
  const http: ServerHttp = {
    url,
    adminToken,
    async request(method, path, options = {}) {
      const token = options.token === undefined ? adminToken : options.token;
      const headers: Record<string, string> = { ...options.headers };
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | undefined;
      if (options.body !== undefined) {
        body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
      const response = await fetch(new URL(path, url), { method, headers, ...(body === undefined ? {} : { body }) });
      const text = await response.text();
      let parsed: unknown = text;
      if (response.headers.get('content-type')?.includes('application/json')) parsed = JSON.parse(text) as unknown;
      return { status: response.status, headers: response.headers, body: parsed, text };
    },
    async publishPrice(symbol, price) {
      return (await post('/api/prices', { symbol, price })) as PriceTick & { topic: string };
    },
    async mintToken(user, ttlSeconds) {
      return ((await post('/api/tokens', { user, ttlSeconds })) as { token: string }).token;
    },
    async publishNotification(user, data) {
      return (await post('/api/notifications', { user, ...data })) as Published;
    },
    async publishNews(data) {
      return (await post('/api/news', data)) as Published;
    },
    async resetTopic(topic) {
      return (await post('/api/topics/reset', { topic })) as { topic: string; epoch: string };
    },
    async alerts(user) {
      const path = `/api/alerts?user=${encodeURIComponent(user)}`;
      const answer = await http.request('GET', path);
      if (answer.status !== 200) throw new Error(`GET ${path} answered ${answer.status}: ${answer.text}`);
      return (answer.body as { alerts: ServerAlert[] }).alerts;
    },
    async metric(name, labels) {
      const answer = await http.request('GET', '/metrics', { token: null });
      return readMetric(answer.text, name, labels);
    },
    async waitForMetric(name, predicate, labels) {
      let value = Number.NaN;
      const read = async () => {
        value = await http.metric(name, labels);
        return predicate(value) && { value };
      };
      return (await poll(() => `${name}${labels ? JSON.stringify(labels) : ''} to match (it reads ${value})`, read)).value;
    },
  };
  return http;
}

/** An in-process server plus HTTP helpers. `server.publishPrice` publishes directly; `publishPrice` goes through HTTP. */
export interface TestServer extends ServerHttp {
  readonly server: RunningServer;
  /** WebSocket endpoint, e.g. `ws://127.0.0.1:41234/ws`. */
  readonly wsUrl: string;
  readonly port: number;
  /** The data directory (a fresh temp one for `store: 'sqlite'` unless given; removed on close if made here). */
  readonly dataDir: string;
  close(): Promise<void>;
}

/**
 * Starts an in-process server on 127.0.0.1 port 0 with the simulator off, a silent logger, the
 * memory store, `TEST_ADMIN_TOKEN` and `TEST_TOKEN_SECRET`; `options` override any of these (e.g.
 * `{ heartbeatMs: 200 }`, `{ store: 'sqlite' }`, `{ retention: { maxEvents: 5 } }`).
 */
export async function startTestServer(options: ServerInput = {}): Promise<TestServer> {
  const madeDir = options.dataDir === undefined && options.store === 'sqlite' ? mkdtempSync(join(tmpdir(), 'switchboard-data-')) : undefined;
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    simulator: 'off',
    adminToken: TEST_ADMIN_TOKEN,
    tokenSecret: TEST_TOKEN_SECRET,
    store: 'memory',
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    ...options,
    ...(madeDir ? { dataDir: madeDir } : {}),
  });
  return {
    ...createServerHttp(server.url, server.adminToken),
    server,
    wsUrl: server.wsUrl,
    port: server.port,
    dataDir: server.dataDir,
    async close() {
      await server.close();
      if (madeDir) rmSync(madeDir, { recursive: true, force: true });
    },
  };
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Port to listen on; default a free port found before spawning (kept across restarts). */
  readonly port?: number;
  /** `STORE`. Default `sqlite` (in the temp `DATA_DIR`, which survives `restart()`), or `redis` with `redisUrl`. */
  readonly store?: 'memory' | 'sqlite';
  /** `REDIS_URL`: the node keeps everything in this Redis, one of several nodes on it. */
  readonly redisUrl?: string;
  /** `RETENTION_EVENTS` / `RETENTION_DAYS`; small values provoke `trimmed`. Default the server's. */
  readonly retention?: Partial<Retention>;
  /**
   * Extra environment; defaults: `SIMULATOR=off`, `ADMIN_TOKEN=TEST_ADMIN_TOKEN`,
   * `TOKEN_SECRET=TEST_TOKEN_SECRET` (pass `''` to have the server make and keep its own), a fresh
   * temp `DATA_DIR`, `LOG_LEVEL=warn`.
   */
  readonly env?: Readonly<Record<string, string>>;
}

/** A server child process (`node --import tsx server/main.ts`). */
export interface ServerProcess extends ServerHttp {
  readonly port: number;
  /** WebSocket endpoint of the process. */
  readonly wsUrl: string;
  /** The `DATA_DIR` the process uses; the same directory across restarts. */
  readonly dataDir: string;
  /** The current child's process id (for reading its memory from `/proc`). */
  pid(): number | undefined;
  /** Everything the current child printed (stdout and stderr), for diagnostics. */
  output(): string;
  /** Resolves with the match once the current child's output matches `pattern`; rejects if it exits first. */
  waitForOutput(pattern: RegExp): Promise<RegExpExecArray>;
  /** Settles when the current child exits. */
  exited(): Promise<ExitInfo>;
  /** Sends `signal` (default SIGTERM; SIGKILL for a crash) and resolves when the child has exited. */
  kill(signal?: NodeJS.Signals): Promise<ExitInfo>;
  /** Stops the child if it runs (SIGTERM) and starts a new one on the same port, data dir and env. */
  restart(): Promise<void>;
  /** SIGKILLs the child if still running and removes a `DATA_DIR` made here; for `afterEach`/`afterAll`. */
  dispose(): Promise<void>;
}

const DAY_MS = 24 * 3600 * 1000;

/** A free TCP port on 127.0.0.1, found by binding port 0 and releasing it. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

interface Child {
  readonly process: ChildProcess;
  readonly exited: Promise<ExitInfo>;
  output: string;
  /** Called after each chunk the child prints, once it is in `output`. */
  readonly printed: Set<() => void>;
  /** Settles on `close`: the child exited and its last output was read. */
  readonly closed: Promise<void>;
}

/**
 * Spawns `server/main.ts` with the repository's Node (`node_modules/.bin/node`) and resolves once it
 * prints `Switchboard server listening on <url>`; rejects with its output if it exits before that.
 * Always `dispose()` it in an after-hook.
 */
export async function spawnServerProcess(options: SpawnOptions = {}): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const dataDir = options.env?.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'switchboard-data-'));
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    HOST: '127.0.0.1',
    SIMULATOR: 'off',
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    TOKEN_SECRET: TEST_TOKEN_SECRET,
    LOG_LEVEL: 'warn',
    STORE: options.redisUrl === undefined ? (options.store ?? 'sqlite') : 'redis',
    ...(options.redisUrl === undefined ? {} : { REDIS_URL: options.redisUrl }),
    ...(options.retention?.maxEvents === undefined ? {} : { RETENTION_EVENTS: String(options.retention.maxEvents) }),
    ...(options.retention?.maxAgeMs === undefined ? {} : { RETENTION_DAYS: String(options.retention.maxAgeMs / DAY_MS) }),
    ...options.env,
    DATA_DIR: dataDir,
    PORT: String(port),
  };
  const url = `http://127.0.0.1:${port}`;

  let child = await launch(env);
  const http = createServerHttp(url, env.ADMIN_TOKEN!);
  const running = () => child.process.exitCode === null && child.process.signalCode === null;

  const handle: ServerProcess = {
    ...http,
    port,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    dataDir,
    pid: () => child.process.pid,
    output: () => child.output,
    waitForOutput(pattern) {
      const current = child;
      return new Promise((found, fail) => {
        const match = (): boolean => {
          const result = pattern.exec(current.output);
          if (result) found(result);
          return result !== null;
        };
        if (match()) return;
        const onOutput = (): void => {
          if (match()) current.printed.delete(onOutput);
        };
        current.printed.add(onOutput);
        // `close` comes after the child's last output was read.
        const gone = (): void => {
          current.printed.delete(onOutput);
          if (!match()) fail(new Error(`Server process exited without printing ${pattern}:\n${current.output}`));
        };
        void current.closed.then(gone);
      });
    },
    exited: () => child.exited,
    async kill(signal = 'SIGTERM') {
      if (running()) child.process.kill(signal);
      return child.exited;
    },
    async restart() {
      await handle.kill('SIGTERM');
      child = await launch(env);
    },
    async dispose() {
      await handle.kill('SIGKILL');
      if (options.env?.DATA_DIR === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}

function launch(env: Readonly<Record<string, string>>): Promise<Child> {
  const node = resolve(repoRoot, 'node_modules/.bin/node');
  const proc = spawn(node, ['--import', 'tsx', 'server/main.ts'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<ExitInfo>((done) => proc.once('exit', (code, signal) => done({ code, signal })));
  const closed = new Promise<void>((done) => proc.once('close', () => done()));
  const child: Child = { process: proc, exited, output: '', printed: new Set(), closed };
  return new Promise((ready, fail) => {
    let announced = false;
    const onData = (chunk: Buffer) => {
      child.output += chunk.toString('utf8');
      for (const listener of [...child.printed]) listener();
      if (!announced && /Switchboard server listening on \S+/.test(child.output)) {
        announced = true;
        ready(child);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('error', fail);
    void exited.then(({ code, signal }) => {
      if (!announced) fail(new Error(`Server process exited (code ${code}, signal ${signal}) before listening:\n${child.output}`));
    });
  });
}
