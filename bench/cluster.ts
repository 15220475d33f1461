/**
 * Scale-out on one Redis, in one run: the same work on three configurations of the service, each a
 * fresh set of processes per run, rounds interleaved (each round starts with another configuration)
 * and medians reported with ratios to the SQLite single node.
 * - **SQLite, 1 node**: one `server/main.ts` process with its embedded SQLite log (`npm start`'s
 *   default: WAL, a publish answered once its group commit was fsynced).
 * - **Redis, 1 node**: one node process with `REDIS_URL`, on a `redis-server` the bench starts on a
 *   free port (`./cluster/redis-server.ts`), with AOF and `appendfsync always` by default: a publish
 *   answered once fsynced, as the SQLite node's is (`CLUSTER_BENCH_REDIS=none`: no persistence).
 * - **Redis, 3 nodes**: three node processes on that one Redis; clients and publishes spread evenly
 *   across them.
 * Every node, Redis and the bench's clients and publisher share this machine's cores, so three
 * nodes cannot be faster here: the figures show what the hop through Redis costs, not what more
 * machines would gain.
 *
 * Per run: stream fan-out to many clients at a fixed publish rate (`./cluster/fanout.ts`), then a
 * client that missed 10,000 events catching up on another node (`./cluster/catch-up.ts`).
 * Alone: `node --import tsx bench/cluster.ts` (`CLUSTER_BENCH_ROUNDS`, `CLUSTER_BENCH_CLIENTS`,
 * `CLUSTER_BENCH_EVENTS`, `CLUSTER_BENCH_REDIS`).
 */
import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { Chart } from './report';
import { measureCatchUp, MISSED, type CatchUpOutcome } from './cluster/catch-up';
import { CLIENTS, EVENTS, measureNodesFanout, RATE, type FanoutOutcome } from './cluster/fanout';
import { PERSISTENCE_NOTE, startBenchRedis, type BenchRedis, type RedisPersistence } from './cluster/redis-server';
import { signBenchToken, SYSTEMS, type BenchServer } from './peers/systems';
import { median, ratio } from './stats';
import { printTable, type Row } from './table';
import { interleavedRounds } from './rounds';

const ROUNDS = Number(process.env.CLUSTER_BENCH_ROUNDS ?? 3);
const PERSISTENCE: RedisPersistence = process.env.CLUSTER_BENCH_REDIS === 'none' ? 'none' : 'aof';
/** Above what one run appends to `news` (warm-up, fan-out, the catch-up's events), so nothing is trimmed. */
const RETENTION_EVENTS = 20_000;

interface Configuration {
  readonly label: string;
  readonly nodes: number;
  readonly redis: boolean;
  /** What runs, for the table. */
  readonly processes: string;
}

const CONFIGURATIONS: readonly Configuration[] = [
  { label: 'SQLite, 1 node', nodes: 1, redis: false, processes: '1 node process, its SQLite file (WAL, fsync per group commit)' },
  { label: 'Redis, 1 node', nodes: 1, redis: true, processes: `1 node process + redis-server (${PERSISTENCE_NOTE[PERSISTENCE]})` },
  { label: 'Redis, 3 nodes', nodes: 3, redis: true, processes: `3 node processes + 1 redis-server (${PERSISTENCE_NOTE[PERSISTENCE]})` },
];

interface Deployment {
  readonly nodes: readonly BenchServer[];
  /** Every process serving: the nodes, and Redis. */
  readonly pids: readonly number[];
  close(): Promise<void>;
}

async function deploy(configuration: Configuration): Promise<Deployment> {
  const redis: BenchRedis | null = configuration.redis ? await startBenchRedis(PERSISTENCE) : null;
  const nodes: BenchServer[] = [];
  try {
    const env = { RETENTION_EVENTS: String(RETENTION_EVENTS) };
    const started = await Promise.allSettled(
      Array.from({ length: configuration.nodes }, () => SYSTEMS.Switchboard({ env, ...(redis ? { redisUrl: redis.url } : {}) })),
    );
    for (const result of started) if (result.status === 'fulfilled') nodes.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (error) {
    await Promise.all(nodes.map((node) => node.close()));
    await redis?.close();
    throw error;
  }
  return {
    nodes,
    pids: [...nodes.map((node) => node.pid), ...(redis ? [redis.pid] : [])],
    async close() {
      await Promise.all(nodes.map((node) => node.close()));
      await redis?.close();
    },
  };
}

interface Outcome {
  readonly fanout: FanoutOutcome;
  readonly catchUp: CatchUpOutcome;
}

async function run(configuration: Configuration, readers: readonly string[], catcher: string): Promise<Outcome> {
  const deployment = await deploy(configuration);
  try {
    const fanout = await measureNodesFanout(configuration.label, deployment.nodes, deployment.pids, readers);
    const catchUp = await measureCatchUp(configuration.label, deployment.nodes, catcher);
    return { fanout, catchUp };
  } finally {
    await deployment.close();
  }
}

export async function clusterRows(): Promise<Row[]> {
  const readers = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => signBenchToken(`reader${i}`)));
  const catcher = await signBenchToken('catcher');
  const outcomes = await interleavedRounds('cluster', CONFIGURATIONS, ROUNDS, (c) => c.label, (c) => run(c, readers, catcher));
  const summary = (label: string) => {
    const runs = outcomes.get(label)!;
    const fanouts = runs.map((r) => r.fanout);
    const catchUps = runs.map((r) => r.catchUp);
    return {
      p50: median(fanouts.map((f) => f.p50)),
      p99: median(fanouts.map((f) => f.p99)),
      perSecond: median(fanouts.map((f) => f.perSecond)),
      cpuPerEvent: median(fanouts.map((f) => (f.cpuMs * 1000) / Math.max(1, f.delivered))),
      delivered: fanouts.reduce((n, f) => n + f.delivered, 0),
      lost: fanouts.reduce((n, f) => n + f.lost, 0),
      refused: fanouts.reduce((n, f) => n + f.failed, 0),
      disorder: fanouts.reduce((n, f) => n + f.disorder, 0),
      catchUpMs: catchUps.every((c) => c.ms !== null) ? median(catchUps.map((c) => c.ms!)) : Number.NaN,
      recovery: [...new Set(catchUps.map((c) => c.recovery))].join(', '),
      received: catchUps.map((c) => c.received.toLocaleString('en-US')).join(' / '),
      exact: catchUps.every((c) => c.exact),
    };
  };
  const sqlite = summary(CONFIGURATIONS[0]!.label);
  return CONFIGURATIONS.map(({ label, processes }) => {
    const s = summary(label);
    return {
      configuration: label,
      processes,
      'receive p50 ms': s.p50,
      'receive p99 ms': s.p99,
      'p99 vs SQLite': ratio(s.p99, sqlite.p99),
      'delivered events/s': Math.round(s.perSecond),
      'CPU µs / delivered event': s.cpuPerEvent,
      'CPU vs SQLite': ratio(s.cpuPerEvent, sqlite.cpuPerEvent),
      'events delivered': s.delivered,
      'publishes refused': s.refused,
      lost: s.lost,
      'out of order or twice': s.disorder,
      'catch-up ms': Number.isNaN(s.catchUpMs) ? 'never' : s.catchUpMs,
      'catch-up vs SQLite': ratio(s.catchUpMs, sqlite.catchUpMs),
      'missed events received': s.received,
      'recovered, exactly, in order': s.recovery === 'recovered' && s.exact ? 'yes' : `NO (${s.recovery}${s.exact ? '' : '; not exactly the missed events in order'})`,
    };
  });
}

export const CLUSTER_TITLE =
  `Scale-out on one Redis (${PERSISTENCE_NOTE[PERSISTENCE]}): ${CLIENTS.toLocaleString('en-US')} clients on news, ${EVENTS} events at ${RATE}/s, ` +
  `spread across the nodes; then a client that missed ${MISSED.toLocaleString('en-US')} events catches up on another node. ` +
  `Every node is a process of its own, and all of them, Redis and the clients share this ${cpus().length}-core machine: ` +
  `3 nodes cannot be faster here, the figures show the cost of the Redis hop (median of ${ROUNDS} interleaved rounds)`;

export const CLUSTER_CHART: Chart = {
  values: ['receive p50 ms', 'receive p99 ms', 'catch-up ms'],
  label: ['configuration'],
  axis: 'ms (log scale)',
  log: true,
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) printTable(CLUSTER_TITLE, await clusterRows());
