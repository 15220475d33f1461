/**
 * State fan-out: clients hold one symbol's price topic while ticks are published at a fixed rate
 * over HTTP, Switchboard beside Socket.IO 4 (`./peers/systems.ts`), each a fresh server process per
 * run, rounds interleaved. Two scenarios:
 *
 * - **everyone keeping up** (1,000 clients, 20 ticks/s): publish → receive latency of the ticks
 *   that arrive (the publisher's clock when it sends the request to the client's when the tick
 *   arrives: one process, one clock). Switchboard sends a tick at once to a connection that is
 *   not behind; Socket.IO sends every tick.
 * - **more than the clients can take** (2,000 clients, 200 ticks/s: 400,000 messages a second
 *   unconflated, all clients in one bench process): for every client and every tick, how long
 *   until the client *has this tick or a newer one*, which is what a price view shows. Switchboard
 *   conflates per connection under pressure (a connection behind gets the latest value, never a
 *   backlog); Socket.IO queues every tick for every client.
 *
 * Also: server CPU per tick per client, ticks each client received, and whether every client ended
 * on the last tick. A run waits at most 30 s after the last publish; a tick a client still lacks
 * then counts as that long (`≥` in the table). Run alone: `node --import tsx bench/server-state.ts`
 * (`STATE_BENCH_SCENARIOS=keeping up` runs one scenario).
 */
import { signTestToken } from '../test/support/server';
import { cpuMs } from './peers/proc';
import { paced, settle } from './pacing';
import { percentile, ratio } from './stats';
import { openClients, SYSTEMS, type BenchClient, type SystemName } from './peers/systems';
import { printTable, type Row } from './table';
import { interleavedRounds } from './rounds';

const ROUNDS = Number(process.env.SERVER_BENCH_ROUNDS ?? 2);
const SYSTEM_ORDER = (process.env.SERVER_BENCH_SYSTEMS?.split(',') ?? ['Switchboard', 'Socket.IO 4']) as readonly SystemName[];
const SYMBOL = 'BENCH';
const TOPIC = `prices:${SYMBOL}`;
const WARMUP = 10;

interface Scenario {
  readonly name: string;
  readonly clients: number;
  readonly perSecond: number;
  readonly ticks: number;
}

export const STATE_SCENARIOS: readonly Scenario[] = [
  { name: 'keeping up', clients: 1000, perSecond: 20, ticks: 100 },
  { name: 'overloaded', clients: 2000, perSecond: 200, ticks: 800 },
];

interface Outcome {
  /** (client, tick) pairs still without that tick or a newer one when the run gave up waiting. */
  readonly censored: number;
  readonly cpuMs: number;
  readonly received: number;
  readonly onLatest: boolean;
  readonly receiveP50: number;
  readonly receiveP99: number;
  readonly hasP50: number;
  readonly hasP99: number;
}

/**
 * For each client and tick, ms from publishing the tick until the client held it or a newer one;
 * one it never got by `end` counts as `end` (a lower bound), and `censored` says how many did.
 */
function hasTickOrNewer(arrivals: readonly { idx: Int32Array; at: Float64Array; count: number }[], sentAt: Float64Array, end: number): { ms: Float64Array; censored: number } {
  const ticks = sentAt.length;
  const ms = new Float64Array(arrivals.length * ticks);
  let censored = 0;
  arrivals.forEach((client, c) => {
    let a = 0;
    for (let k = 0; k < ticks; k++) {
      while (a < client.count && client.idx[a]! < k) a++;
      if (a < client.count) ms[c * ticks + k] = client.at[a]! - sentAt[k]!;
      else {
        ms[c * ticks + k] = end - sentAt[k]!;
        censored++;
      }
    }
  });
  return { ms, censored };
}

async function run(name: SystemName, scenario: Scenario, tokens: readonly string[]): Promise<Outcome> {
  const { clients: count, ticks } = scenario;
  const server = await SYSTEMS[name]({});
  const clients: BenchClient[] = [];
  try {
    const arrivals = Array.from({ length: count }, () => ({ idx: new Int32Array(ticks), at: new Float64Array(ticks), count: 0 }));
    const latest = new Int32Array(count).fill(-1 - WARMUP);
    const sentAt = new Float64Array(ticks).fill(Number.NaN);
    let received = 0;
    let disorder = 0;
    clients.push(
      ...(await openClients(count, (i) =>
        server.client(tokens[i]!, [TOPIC], {
          event() {},
          state(_topic, price) {
            const now = performance.now();
            // Prices are the tick's index + WARMUP + 1: warm-up ticks below zero.
            const k = price - WARMUP - 1;
            if (k <= latest[i]!) disorder++;
            latest[i] = k;
            if (k < 0) return;
            const own = arrivals[i]!;
            own.idx[own.count] = k;
            own.at[own.count++] = now;
            received++;
          },
          lost() {},
        }),
      )),
    );
    await paced(WARMUP, 20, (k) => void server.publishPrice(SYMBOL, k + 1));
    if (!(await settle(() => latest.every((k) => k === -1), () => received, 5_000, 30_000))) throw new Error(`${name}: warm-up ticks did not all arrive`);

    const cpuBefore = cpuMs(server.pid);
    let failed = 0;
    await paced(ticks, scenario.perSecond, (k) => {
      sentAt[k] = performance.now();
      void server.publishPrice(SYMBOL, k + WARMUP + 1).catch(() => void failed++);
    });
    const onLatest = await settle(() => latest.every((k) => k === ticks - 1), () => received, 5_000, 30_000);
    const end = performance.now();
    const cpu = cpuMs(server.pid) - cpuBefore;
    process.stderr.write(`  state ${scenario.name} ${name}: ${received} received, ${cpu} ms CPU, ${disorder} out of order, ${failed} publishes failed\n`);
    const receive = new Float64Array(received);
    let r = 0;
    for (const own of arrivals) for (let j = 0; j < own.count; j++) receive[r++] = own.at[j]! - sentAt[own.idx[j]!]!;
    const has = hasTickOrNewer(arrivals, sentAt, end);
    return {
      censored: has.censored,
      cpuMs: cpu,
      received,
      onLatest: onLatest && disorder === 0,
      receiveP50: percentile(receive, 50),
      receiveP99: percentile(receive, 99),
      hasP50: percentile(has.ms, 50),
      hasP99: percentile(has.ms, 99),
    };
  } finally {
    for (const client of clients) client.close();
    await server.close();
  }
}

export async function stateFanoutRows(): Promise<Row[]> {
  const chosen = process.env.STATE_BENCH_SCENARIOS?.split(',') ?? STATE_SCENARIOS.map((s) => s.name);
  const scenarios = STATE_SCENARIOS.filter((s) => chosen.includes(s.name));
  const most = Math.max(...scenarios.map((s) => s.clients));
  const tokens = await Promise.all(Array.from({ length: most }, (_, i) => signTestToken({ sub: `watcher${i}` })));
  const rows: Row[] = [];
  for (const scenario of scenarios) {
    const outcomes = await interleavedRounds(`state fan-out ${scenario.name}`, SYSTEM_ORDER, ROUNDS, (name) => name, (name) => run(name, scenario, tokens));
    const of = (name: SystemName, pick: (o: Outcome) => number) => percentile((outcomes.get(name) ?? []).map(pick), 50); // nearest rank: the lower middle one for an even count
    const peer: SystemName = 'Socket.IO 4';
    for (const name of SYSTEM_ORDER) {
      const runs = outcomes.get(name)!;
      const cpuPerTickClient = (o: Outcome) => (o.cpuMs * 1000) / (scenario.ticks * scenario.clients);
      rows.push({
        scenario: `${scenario.clients.toLocaleString('en-US')} clients, ${scenario.perSecond} ticks/s`,
        server: name,
        'CPU µs / tick / client': of(name, cpuPerTickClient),
        'ticks received / client': of(name, (o) => o.received / scenario.clients),
        'receive p50 ms': of(name, (o) => o.receiveP50),
        'p50 vs Socket.IO': ratio(of(name, (o) => o.receiveP50), of(peer, (o) => o.receiveP50)),
        'has tick or newer p99 ms': `${runs.some((o) => o.censored > 0) ? '≥ ' : ''}${Math.round(of(name, (o) => o.hasP99)).toLocaleString('en-US')}`,
        'p99 vs Socket.IO': boundedRatio(runs, outcomes.get(peer) ?? [], ratio(of(name, (o) => o.hasP99), of(peer, (o) => o.hasP99))),
        'all end on the last tick': runs.every((o) => o.onLatest) ? 'yes' : 'no',
      });
    }
  }
  return rows;
}

/**
 * A p99 is a lower bound when some clients never caught up (censored): the ratio is then at most
 * the figure when only the peer's is censored, at least it when only ours is, and unknown when both are.
 */
function boundedRatio(ours: readonly Outcome[], peers: readonly Outcome[], figure: string): string {
  const oursLow = ours.some((o) => o.censored > 0);
  const peerLow = peers.some((o) => o.censored > 0);
  if (ours === peers) return figure;
  if (oursLow === peerLow) return oursLow ? `? (${figure})` : figure;
  return `${peerLow ? '≤' : '≥'} ${figure}`;
}

export const STATE_FANOUT_TITLE = `State fan-out: one symbol's price topic, ticks over HTTP; publish → receive and "has this tick or newer" (median of ${ROUNDS} interleaved rounds)`;

if (import.meta.url === `file://${process.argv[1]}`) printTable(STATE_FANOUT_TITLE, await stateFanoutRows());
