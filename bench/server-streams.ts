/**
 * Stream fan-out, where every event must arrive: CLIENTS signed-in clients hold `news` while
 * EVENTS events are published at RATE a second over HTTP, Switchboard beside Socket.IO 4 and a raw
 * `ws` broadcast (`./peers/systems.ts`), each a fresh server process per run, rounds interleaved.
 *
 * Measured per run, after WARMUP events every client got: the server process's CPU time (user +
 * system, `/proc/<pid>/stat`) from the first publish until every client has every event, per event
 * delivered; publish → receive latency (the publisher's clock when it sends the request to the
 * client's when the event arrives: one process, one clock); events lost; events out of order or
 * twice (by the server's `seq` and the publisher's numbering). Switchboard appends each event to
 * its log before fanning it out: its durable SQLite log (`npm start`'s default; one fsync per
 * append, which stalls the server while it syncs) and, to show the fan-out alone, the memory log;
 * the peers keep nothing and number the events themselves. Run alone:
 * `node --import tsx bench/server-streams.ts` (`SERVER_BENCH_SYSTEMS` picks rows by label,
 * `SERVER_BENCH_ROUNDS` the rounds).
 */
import { signTestToken } from '../test/support/server';
import { cpuMs } from './peers/proc';
import { paced, settle } from './pacing';
import { median, percentile, ratio } from './stats';
import { openClients, SYSTEMS, type BenchClient, type SystemName } from './peers/systems';
import { printTable, type Row } from './table';

const CLIENTS = Number(process.env.STREAM_BENCH_CLIENTS ?? 1000);
const RATE = 100;
const EVENTS = Number(process.env.STREAM_BENCH_EVENTS ?? 300);
const WARMUP = 20;
const ROUNDS = Number(process.env.SERVER_BENCH_ROUNDS ?? 3);
const BODY = 'Markets moved on the news. '.repeat(7);

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

interface Outcome {
  readonly cpuMs: number;
  readonly delivered: number;
  /** Events of accepted publishes that some client never got. */
  readonly lost: number;
  /** Publishes the server answered with an error (their events were never accepted). */
  readonly failed: number;
  readonly disorder: number;
  readonly p50: number;
  readonly p99: number;
}

async function run({ label: name, system, store }: Contender, tokens: readonly string[]): Promise<Outcome> {
  const server = await SYSTEMS[system](store ? { store } : {});
  const clients: BenchClient[] = [];
  try {
    const lastSeq = new Int32Array(CLIENTS);
    const warm = new Int32Array(CLIENTS);
    const latency = new Float64Array(CLIENTS * EVENTS).fill(Number.NaN);
    const sentAt = new Float64Array(EVENTS).fill(Number.NaN);
    let delivered = 0;
    let disorder = 0;
    let dropped = 0;
    let failed = 0;
    let firstFailure = '';
    const publishFailed = (error: unknown): void => {
      failed++;
      firstFailure ||= error instanceof Error ? error.message : String(error);
    };
    clients.push(
      ...(await openClients(CLIENTS, (i) =>
        server.client(tokens[i]!, ['news'], {
          event(seq, title) {
            const now = performance.now();
            if (lastSeq[i] !== 0 && seq !== lastSeq[i]! + 1) disorder++;
            lastSeq[i] = seq;
            if (title[0] === 'w') return void warm[i]!++;
            const slot = i * EVENTS + Number(title.slice(1));
            if (!Number.isNaN(latency[slot]!)) return void disorder++;
            latency[slot] = now - sentAt[slot % EVENTS]!;
            delivered++;
          },
          state() {},
          lost: () => void dropped++,
        }),
      )),
    );
    await paced(WARMUP, RATE, (k) => void server.publishNews(`w${k}`, BODY).catch(publishFailed));
    const warmed = await settle(() => warm.every((n) => n === WARMUP), () => warm.reduce((a, b) => a + b, 0), 5_000, 30_000);
    if (!warmed) throw new Error(`${name}: not every client got the warm-up events`);

    const cpuBefore = cpuMs(server.pid);
    const started = performance.now();
    await paced(EVENTS, RATE, (k) => {
      sentAt[k] = performance.now();
      void server.publishNews(`m${k}`, BODY).catch(publishFailed);
    });
    await settle(() => delivered === CLIENTS * EVENTS, () => delivered, 3_000, 30_000);
    const cpu = cpuMs(server.pid) - cpuBefore;
    process.stderr.write(`  streams ${name}: ${delivered} delivered in ${Math.round(performance.now() - started)} ms, ${cpu} ms CPU, ${dropped} connections lost, ${failed} publishes failed${firstFailure ? ` (first: ${firstFailure})` : ''}\n`);
    return { cpuMs: cpu, delivered, lost: (EVENTS - failed) * CLIENTS - delivered, failed, disorder, p50: percentile(latency, 50), p99: percentile(latency, 99) };
  } finally {
    for (const client of clients) client.close();
    await server.close();
  }
}

export async function streamFanoutRows(): Promise<Row[]> {
  const tokens = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => signTestToken({ sub: `reader${i}` })));
  const outcomes = new Map<string, Outcome[]>(ORDER.map((c) => [c.label, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Each round starts with another server, so none always runs first (or last) on a busy machine.
    for (let j = 0; j < ORDER.length; j++) {
      const contender = ORDER[(round + j) % ORDER.length]!;
      process.stderr.write(`stream fan-out, round ${round + 1}/${ROUNDS}: ${contender.label}\n`);
      outcomes.get(contender.label)!.push(await run(contender, tokens));
    }
  }
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
