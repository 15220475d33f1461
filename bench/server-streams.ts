/**
 * Stream fan-out, where every event must arrive: CLIENTS signed-in clients hold `news` while
 * EVENTS events are published at RATE a second over HTTP, Switchboard beside Socket.IO 4 and a raw
 * `ws` broadcast (`./peers/systems.ts`), each a fresh server process per run, rounds interleaved.
 *
 * Measured per run by `./peers/fanout-measure.ts`, after WARMUP events every client got: the server
 * process's CPU time (user + system, `/proc/<pid>/stat`) from the first publish until every client
 * has every event, per event delivered; publish → receive latency; events lost; events out of
 * order or twice. Switchboard appends each event to
 * its log before fanning it out: its durable SQLite log (`npm start`'s default; one fsync per
 * append, which stalls the server while it syncs) and, to show the fan-out alone, the memory log;
 * the peers keep nothing and number the events themselves. Run alone:
 * `node --import tsx bench/server-streams.ts` (`SERVER_BENCH_SYSTEMS` picks rows by label,
 * `SERVER_BENCH_ROUNDS` the rounds).
 */
import { signTestToken } from '../test/support/server';
import { measureFanout, NEWS_BODY, type FanoutOutcome } from './peers/fanout-measure';
import { cpuMs } from './peers/proc';
import { median, ratio } from './stats';
import { SYSTEMS, type SystemName } from './peers/systems';
import { printTable, type Row } from './table';
import { interleavedRounds } from './rounds';

const CLIENTS = Number(process.env.STREAM_BENCH_CLIENTS ?? 1000);
const RATE = 100;
const EVENTS = Number(process.env.STREAM_BENCH_EVENTS ?? 300);
const WARMUP = 20;
const ROUNDS = Number(process.env.SERVER_BENCH_ROUNDS ?? 3);

/** A row of the table: a server, and for Switchboard the log it appends to. */
interface Contender {
  readonly label: string;
  readonly system: SystemName;
  readonly store?: 'sqlite' | 'memory';
}

const CONTENDERS: readonly Contender[] = [
  { label: 'Switchboard (SQLite log)', system: 'Switchboard', store: 'sqlite' },
  { label: 'Switchboard (memory log)', system: 'Switchboard', store: 'memory' },
  { label: 'Socket.IO 4', system: 'Socket.IO 4' },
  { label: 'raw ws', system: 'raw ws' },
  ...(process.env.SERVER_BENCH_BASELINE ? [{ label: 'Switchboard before (SQLite log)', system: 'Switchboard before' as const, store: 'sqlite' as const }] : []),
];
const CHOSEN = process.env.SERVER_BENCH_SYSTEMS?.split(',');
const ORDER = CONTENDERS.filter((c) => !CHOSEN || CHOSEN.includes(c.label));

async function run({ label, system, store }: Contender, tokens: readonly string[]): Promise<FanoutOutcome> {
  const server = await SYSTEMS[system](store ? { store } : {});
  try {
    return await measureFanout({
      label: `streams ${label}`,
      clients: CLIENTS,
      events: EVENTS,
      rate: RATE,
      warmup: WARMUP,
      connect: (i, on) => server.client(tokens[i]!, ['news'], on),
      publish: (_k, title) => server.publishNews(title, NEWS_BODY),
      cpuMs: () => cpuMs(server.pid),
    });
  } finally {
    await server.close();
  }
}

export async function streamFanoutRows(): Promise<Row[]> {
  const tokens = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => signTestToken({ sub: `reader${i}` })));
  const outcomes = await interleavedRounds('stream fan-out', ORDER, ROUNDS, (c) => c.label, (c) => run(c, tokens));
  const summary = (label: string) => {
    const runs = outcomes.get(label) ?? [];
    return {
      cpuPerEvent: median(runs.map((r) => (r.cpuMs * 1000) / Math.max(1, r.delivered))),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      lost: runs.reduce((n, r) => n + r.lost, 0),
      disorder: runs.reduce((n, r) => n + r.disorder, 0),
      delivered: runs.reduce((n, r) => n + r.delivered, 0),
      failed: runs.reduce((n, r) => n + r.failed, 0),
    };
  };
  const socketIo = summary('Socket.IO 4');
  const raw = summary('raw ws');
  return ORDER.map(({ label }) => {
    const s = summary(label);
    return {
      server: label,
      'events delivered': s.delivered,
      'publishes refused': s.failed,
      lost: s.lost,
      'out of order or twice': s.disorder,
      'CPU µs / delivered event': s.cpuPerEvent,
      'CPU vs Socket.IO': ratio(s.cpuPerEvent, socketIo.cpuPerEvent),
      'CPU vs raw ws': ratio(s.cpuPerEvent, raw.cpuPerEvent),
      'p50 ms': s.p50,
      'p99 ms': s.p99,
      'p99 vs Socket.IO': ratio(s.p99, socketIo.p99),
    };
  });
}

export const STREAM_FANOUT_TITLE = `Stream fan-out: ${CLIENTS.toLocaleString('en-US')} clients on news, ${EVENTS} events at ${RATE}/s, every event must arrive (median of ${ROUNDS} interleaved rounds)`;

if (import.meta.url === `file://${process.argv[1]}`) printTable(STREAM_FANOUT_TITLE, await streamFanoutRows());
