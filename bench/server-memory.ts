/**
 * Server memory per idle signed-in connection: Switchboard beside Socket.IO 4 and a raw `ws`
 * server (`./peers/systems.ts`), each a fresh server process per run, rounds interleaved. Every
 * server preloads the same probe (`./peers/memory-probe.mjs`), which collects garbage twice and
 * reports `process.memoryUsage()`: read once WARMUP clients are connected (so what connecting grows
 * once is not counted), and again once CLIENTS more have connected and signed in (and hold
 * nothing else) and sat idle for a second. Per connection: the growth of the
 * live JavaScript heap (plus `external`: buffers outside it) and of the resident set, divided by
 * CLIENTS. What a connection costs the kernel (socket buffers) is in neither.
 * Run alone: `node --import tsx bench/server-memory.ts`.
 */
import { signTestToken } from '../test/support/server';
import { MEMORY_PROBE_OPTIONS, probeMemory, type MemorySample } from './peers/proc';
import { sleep } from './pacing';
import { percentile, ratio } from './stats';
import { openClients, SYSTEMS, type BenchClient, type SystemName } from './peers/systems';
import { printTable, type Row } from './table';
import { interleavedRounds } from './rounds';

const CLIENTS = Number(process.env.MEMORY_BENCH_CLIENTS ?? 2000);
const WARMUP = 500;
const ROUNDS = Number(process.env.SERVER_BENCH_ROUNDS ?? 2);
const SYSTEM_ORDER = (process.env.SERVER_BENCH_SYSTEMS?.split(',') ?? ['Switchboard', 'Socket.IO 4', 'raw ws']) as readonly SystemName[];

interface Outcome {
  /** Bytes per connection: live heap + external, and resident set. */
  readonly heap: number;
  readonly rss: number;
}

const live = (m: MemorySample) => m.heapUsed + m.external;

async function run(name: SystemName, tokens: readonly string[]): Promise<Outcome> {
  const server = await SYSTEMS[name]({ env: { NODE_OPTIONS: MEMORY_PROBE_OPTIONS } });
  const clients: BenchClient[] = [];
  try {
    let lost = 0;
    const handlers = { event() {}, state() {}, lost: () => void lost++ };
    // Some clients first, so that what connecting grows once (code, pools, the young generation
    // of the heap) is in the first sample and only what each connection keeps is in the difference.
    clients.push(...(await openClients(WARMUP, (i) => server.client(tokens[i]!, [], handlers))));
    await sleep(500);
    const before = await probeMemory(server.pid, server.output);
    clients.push(...(await openClients(CLIENTS, (i) => server.client(tokens[WARMUP + i]!, [], handlers))));
    await sleep(1_000);
    const after = await probeMemory(server.pid, server.output);
    if (lost > 0) throw new Error(`${name}: ${lost} idle connections were closed`);
    const outcome = { heap: (live(after) - live(before)) / CLIENTS, rss: (after.rss - before.rss) / CLIENTS };
    process.stderr.write(`  memory ${name}: ${(outcome.heap / 1024).toFixed(1)} KB heap, ${(outcome.rss / 1024).toFixed(1)} KB RSS per connection\n`);
    return outcome;
  } finally {
    for (const client of clients) client.close();
    await server.close();
  }
}

export async function serverMemoryRows(): Promise<Row[]> {
  const tokens = await Promise.all(Array.from({ length: WARMUP + CLIENTS }, (_, i) => signTestToken({ sub: `idle${i}` })));
  const outcomes = await interleavedRounds('memory per connection', SYSTEM_ORDER, ROUNDS, (name) => name, (name) => run(name, tokens));
  const of = (name: SystemName, pick: (o: Outcome) => number) => percentile((outcomes.get(name) ?? []).map(pick), 50); // nearest rank: the lower middle one for an even count
  return SYSTEM_ORDER.map((name) => ({
    server: name,
    'heap + external KB / connection': of(name, (o) => o.heap) / 1024,
    'heap vs Socket.IO': ratio(of(name, (o) => o.heap), of('Socket.IO 4', (o) => o.heap)),
    'RSS KB / connection': of(name, (o) => o.rss) / 1024,
    'RSS vs Socket.IO': ratio(of(name, (o) => o.rss), of('Socket.IO 4', (o) => o.rss)),
  }));
}

export const SERVER_MEMORY_TITLE = `Server memory per idle signed-in connection: ${CLIENTS.toLocaleString('en-US')} connections, live memory after garbage collection (median of ${ROUNDS} interleaved rounds)`;

if (import.meta.url === `file://${process.argv[1]}`) printTable(SERVER_MEMORY_TITLE, await serverMemoryRows());
