/**
 * Durable publishes with 50 concurrent publishers: Switchboard's SQLite event log with group commit
 * beside the same log committing every publish on its own (`commit: 'each'`, how it worked before
 * group commit), in one run, in interleaved rounds. Both use the same file settings (WAL,
 * `synchronous=FULL`): a publisher is answered only once its event's commit was fsynced, so both
 * sides survive `kill -9` and power loss. The peer is not another product but the one-fsync-per-
 * publish log it replaces; it skips nothing the grouped log does, it only does not share an fsync.
 *
 * Two paths, each with 50 publishers that publish, wait for the answer and publish again (each to
 * its own `feed:<user>`) for ROUND_MS:
 * - **server, in process**: `RunningServer.publishEvent`, the call the admin API and the alert
 *   engine make (append, then the fan-out), on a fresh log every round;
 * - **admin API over HTTP**: `POST /api/notifications` with keep-alive connections to a server
 *   process of its own (one per commit mode, kept for all rounds).
 * Reported: the median over rounds of publishes answered per second, and p50 / p99 of publish →
 * answer over every answer of every round.
 *
 * Alone: `node --import tsx bench/durable-publish.ts` (`DURABLE_ROUNDS`, `DURABLE_ROUND_MS`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pino from 'pino';
import type { NotificationData } from '../lib/wire/notifications';
import { topics } from '../lib/wire/topics';
import { openSqliteEventLog } from '../server/event-log/sqlite';
import { startServer } from '../server/server';
import { report } from './report';
import { median, ratio } from './stats';
import type { Row } from './table';

const PUBLISHERS = 50;
const ROUNDS = Number(process.env.DURABLE_ROUNDS ?? 3);
const ROUND_MS = Number(process.env.DURABLE_ROUND_MS ?? 3_000);
const ADMIN_TOKEN = 'durable-publish-bench-admin';
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

type Commit = 'group' | 'each';
const COMMITS: readonly Commit[] = ['group', 'each'];
const LABEL: Record<Commit, string> = { group: 'group commit (Switchboard)', each: 'one fsync per publish' };

/** A notification of a typical size. */
const notification = (publisher: number, n: number): NotificationData => ({
  title: `Order ${publisher}-${n} shipped`,
  body: 'Your parcel left the warehouse and should arrive within two working days.',
  level: 'info',
});

interface Round {
  readonly published: number;
  readonly ms: number;
  /** Publish → answer of every publish, ms. */
  readonly latencies: number[];
}

/** PUBLISHERS loops of publish-and-wait for `ms`; what they got done. */
async function round(publish: (publisher: number, n: number) => Promise<void>, ms: number): Promise<Round> {
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: PUBLISHERS }, async (_, publisher) => {
      for (let n = 0; performance.now() < end; n++) {
        const sent = performance.now();
        await publish(publisher, n);
        latencies.push(performance.now() - sent);
      }
    }),
  );
  return { published: latencies.length, ms: performance.now() - start, latencies };
}

/** One path under test: `publisher` for a mode, opened before a round and closed after it (or after all). */
interface Path {
  readonly name: string;
  open(commit: Commit): Promise<{ publish: (publisher: number, n: number) => Promise<void>; close(): Promise<void> }>;
}

/** The server's own publish call, on a fresh SQLite log per round. */
const inProcess: Path = {
  name: 'server, in process',
  async open(commit) {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-durable-'));
    const eventLog = await openSqliteEventLog({ path: join(dataDir, 'switchboard.sqlite'), commit });
    const server = await startServer({ port: 0, simulator: 'off', dataDir, eventLog, adminToken: ADMIN_TOKEN, logger: pino({ level: 'silent' }) });
    return {
      publish: async (publisher, n) => void (await server.publishEvent(topics.feed(`pub${publisher}`), notification(publisher, n))),
      async close() {
        await server.close();
        await eventLog.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  },
};

/** Starts `durable-publish/server.ts` for `commit`; resolves with its URL once it listens. */
function spawnServer(commit: Commit, dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const node = resolve(repoRoot, 'node_modules/.bin/node');
  const child = spawn(node, ['--import', 'tsx', 'bench/durable-publish/server.ts'], {
    cwd: repoRoot,
    env: { ...process.env, COMMIT: commit, DATA_DIR: dataDir, ADMIN_TOKEN },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((ready, fail) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\S+)/.exec(out);
      if (match) ready({ url: match[1]!, child });
    });
    child.once('exit', (code) => fail(new Error(`durable-publish server (${commit}) exited with ${code} before listening: ${out}`)));
  });
}

/** `POST /api/notifications` on a keep-alive connection; resolves once answered 200. */
function postNotification(agent: Agent, url: URL, publisher: number, n: number): Promise<void> {
  const body = JSON.stringify({ user: `pub${publisher}`, ...notification(publisher, n) });
  return new Promise((done, fail) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.once('end', () => (res.statusCode === 200 ? done() : fail(new Error(`POST answered ${res.statusCode}`))));
      },
    );
    req.once('error', fail);
    req.end(body);
  });
}

/** One server process per mode, kept across rounds (its log grows by what each round published). */
function overHttp(): Path & { closeAll(): Promise<void> } {
  const servers = new Map<Commit, { url: string; child: ChildProcess; dataDir: string }>();
  const agent = new Agent({ keepAlive: true, maxSockets: PUBLISHERS });
  return {
    name: 'admin API over HTTP',
    async open(commit) {
      let server = servers.get(commit);
      if (!server) {
        const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-durable-http-'));
        server = { ...(await spawnServer(commit, dataDir)), dataDir };
        servers.set(commit, server);
      }
      const url = new URL('/api/notifications', server.url);
      return { publish: (publisher, n) => postNotification(agent, url, publisher, n), close: async () => undefined };
    },
    async closeAll() {
      agent.destroy();
      for (const { child, dataDir } of servers.values()) {
        const exited = new Promise((done) => child.once('exit', done));
        child.kill('SIGTERM');
        await exited;
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
const round2 = (n: number) => Math.round(n * 100) / 100;

export async function durablePublishRows(): Promise<Row[]> {
  console.error(`durable publish: load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const http = overHttp();
  const rows: Row[] = [];
  try {
    for (const path of [inProcess, http]) {
      const results = new Map<Commit, Round[]>(COMMITS.map((c) => [c, []]));
      // A short warm-up of each mode, then interleaved rounds, the order alternating.
      for (const commit of COMMITS) {
        const target = await path.open(commit);
        await round(target.publish, Math.min(500, ROUND_MS));
        await target.close();
      }
      for (let r = 0; r < ROUNDS; r++) {
        for (const commit of r % 2 ? [...COMMITS].reverse() : COMMITS) {
          const target = await path.open(commit);
          const result = await round(target.publish, ROUND_MS);
          await target.close();
          results.get(commit)!.push(result);
          console.error(`durable publish: ${path.name}, ${commit}, round ${r + 1}/${ROUNDS}: ${Math.round((result.published / result.ms) * 1000)}/s`);
        }
      }
      const rates = new Map(COMMITS.map((c) => [c, median(results.get(c)!.map((x) => (x.published / x.ms) * 1000))]));
      for (const commit of COMMITS) {
        const latencies = results
          .get(commit)!
          .flatMap((x) => x.latencies)
          .sort((a, b) => a - b);
        rows.push({
          path: path.name,
          commit: LABEL[commit],
          'publishes/s': Math.round(rates.get(commit)!),
          'p50 ms': round2(percentile(latencies, 0.5)),
          'p99 ms': round2(percentile(latencies, 0.99)),
          'publishes/s vs one fsync each': ratio(rates.get(commit)!, rates.get('each')!),
        });
      }
    }
  } finally {
    await http.closeAll();
  }
  console.error(`durable publish: done, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  return rows;
}

/** The chart `docs/bench/durable-publish.svg` draws: publishes/s per path, one bar per commit mode. */
export const DURABLE_PUBLISH_CHART = { values: ['publishes/s'], label: ['path'], colour: 'commit' } as const;

export const DURABLE_PUBLISH_TITLE = `Durable publishes: ${PUBLISHERS} concurrent publishers, each answered once its event is fsynced; SQLite log with group commit vs one fsync per publish (median of ${ROUNDS} interleaved rounds of ${ROUND_MS / 1000} s)`;

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await report('durable-publish', DURABLE_PUBLISH_TITLE, await durablePublishRows(), DURABLE_PUBLISH_CHART);
}
