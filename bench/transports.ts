/**
 * Transports side by side: CLIENTS signed-in clients hold `news` while EVENTS events are published
 * at RATE a second over HTTP, each transport a fresh server process per run, rounds interleaved:
 *
 * - **Switchboard WebSocket**: `/ws`, msgpack frames (the client of `./peers/systems.ts`).
 * - **Switchboard streaming**: `/rt/` HTTP streaming in the SSE format, each frame msgpack in base64.
 * - **Switchboard long polling**: `/rt/` long polling, the same frames in a JSON array per answer.
 * - **Socket.IO 4 polling**: the Socket.IO peer (`./peers/socketio-server.ts`) with polling
 *   allowed, `socket.io-client` with `transports: ['polling']` (Engine.IO long polling).
 * - **Socket.IO 4 WebSocket**: the same peer, its WebSocket transport, for the pair.
 *
 * Switchboard runs with the memory log (no fsync stalls), so the rows differ by transport alone.
 * Every client connects through a counting TCP proxy in the bench process (`test/support/tcp-proxy.ts`);
 * the publisher does not. Measured per run by `./peers/fanout-measure.ts`, after WARMUP events every
 * client got, from the first publish until every client has every event: bytes the server sent to clients on the wire (the
 * proxy's count: HTTP headers, SSE/JSON/Engine.IO framing, WebSocket frames, heartbeats and pings
 * in the window; not the requests clients send) per event delivered; the server process's CPU time
 * (`/proc/<pid>/stat`) per event delivered; publish → receive latency (one process, one clock);
 * events lost; events out of order or twice. Run alone: `node --import tsx bench/transports.ts`
 * (`TRANSPORT_BENCH_CLIENTS`, `TRANSPORT_BENCH_EVENTS`, `TRANSPORT_BENCH_ROUNDS`).
 */
import { signTestToken } from '../test/support/server';
import { startTcpProxy } from '../test/support/tcp-proxy';
import { measureFanout, NEWS_BODY, type FanoutOutcome } from './peers/fanout-measure';
import { cpuMs } from './peers/proc';
import { SYSTEMS, type BenchClient, type BenchServer, type ClientHandlers } from './peers/systems';
import { socketIoPollingClient, switchboardHttpClient } from './peers/transport-clients';
import { median, ratio } from './stats';
import { printTable, type Row } from './table';
import { interleavedRounds } from './rounds';

const CLIENTS = Number(process.env.TRANSPORT_BENCH_CLIENTS ?? 50);
const RATE = 20;
const EVENTS = Number(process.env.TRANSPORT_BENCH_EVENTS ?? 100);
const WARMUP = 10;
const ROUNDS = Number(process.env.TRANSPORT_BENCH_ROUNDS ?? 3);

/** A row: a server, and how a client reaches it (`proxy`: `http://127.0.0.1:<port>` of the counting proxy). */
interface Contender {
  readonly label: string;
  readonly start: () => Promise<BenchServer>;
  readonly client: (server: BenchServer, proxy: string, token: string, on: ClientHandlers) => Promise<BenchClient>;
}

const switchboard = () => SYSTEMS.Switchboard({ store: 'memory' });
const socketIo = () => SYSTEMS['Socket.IO 4']({ env: { PEER_SOCKETIO_TRANSPORTS: 'polling,websocket' } });
/** The server's WebSocket URL with the proxy's host and port. */
const viaProxy = (server: BenchServer, proxy: string): string => {
  const url = new URL(server.wsUrl);
  const through = new URL(proxy);
  url.host = through.host;
  return url.href;
};

const CONTENDERS: readonly Contender[] = [
  { label: 'Switchboard WebSocket', start: switchboard, client: (s, p, token, on) => s.client(token, ['news'], on, viaProxy(s, p)) },
  { label: 'Switchboard streaming', start: switchboard, client: (_s, p, token, on) => switchboardHttpClient(p, 'stream', token, ['news'], on) },
  { label: 'Switchboard long polling', start: switchboard, client: (_s, p, token, on) => switchboardHttpClient(p, 'poll', token, ['news'], on) },
  { label: 'Socket.IO 4 polling', start: socketIo, client: (_s, p, token, on) => socketIoPollingClient(p, token, ['news'], on) },
  { label: 'Socket.IO 4 WebSocket', start: socketIo, client: (s, p, token, on) => s.client(token, ['news'], on, viaProxy(s, p)) },
];

type Outcome = FanoutOutcome & { readonly bytes: number };

async function run(contender: Contender, tokens: readonly string[]): Promise<Outcome> {
  const server = await contender.start();
  const proxy = await startTcpProxy({ port: Number(new URL(server.wsUrl).port) });
  try {
    const outcome = await measureFanout({
      label: `transports ${contender.label}`,
      clients: CLIENTS,
      events: EVENTS,
      rate: RATE,
      warmup: WARMUP,
      connect: (i, on) => contender.client(server, proxy.url, tokens[i]!, on),
      publish: (_k, title) => server.publishNews(title, NEWS_BODY),
      cpuMs: () => cpuMs(server.pid),
      counters: { 'B to clients': () => proxy.bytesToClients() },
    });
    return { ...outcome, bytes: outcome.counted['B to clients']! };
  } finally {
    await proxy.close();
    await server.close();
  }
}

export async function transportRows(): Promise<Row[]> {
  const tokens = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => signTestToken({ sub: `reader${i}` })));
  const outcomes = await interleavedRounds('transports', CONTENDERS, ROUNDS, (c) => c.label, (c) => run(c, tokens));
  const summary = (label: string) => {
    const runs = outcomes.get(label) ?? [];
    const perEvent = (value: (r: Outcome) => number) => median(runs.map((r) => value(r) / Math.max(1, r.delivered)));
    return {
      cpuPerEvent: perEvent((r) => r.cpuMs * 1000),
      bytesPerEvent: perEvent((r) => r.bytes),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      lost: runs.reduce((n, r) => n + r.lost, 0),
      disorder: runs.reduce((n, r) => n + r.disorder, 0),
      delivered: runs.reduce((n, r) => n + r.delivered, 0),
    };
  };
  const ws = summary('Switchboard WebSocket');
  const sioPolling = summary('Socket.IO 4 polling');
  return CONTENDERS.map(({ label }) => {
    const s = summary(label);
    const vsPolling = label === 'Switchboard long polling';
    return {
      transport: label,
      'events delivered': s.delivered,
      lost: s.lost,
      'out of order or twice': s.disorder,
      'p50 ms': s.p50,
      'p99 ms': s.p99,
      'B / event': s.bytesPerEvent,
      'CPU µs / event': s.cpuPerEvent,
      'p99 vs Switchboard WS': ratio(s.p99, ws.p99),
      'B vs Switchboard WS': ratio(s.bytesPerEvent, ws.bytesPerEvent),
      'CPU vs Switchboard WS': ratio(s.cpuPerEvent, ws.cpuPerEvent),
      'B vs Socket.IO polling': vsPolling ? ratio(s.bytesPerEvent, sioPolling.bytesPerEvent) : '',
      'CPU vs Socket.IO polling': vsPolling ? ratio(s.cpuPerEvent, sioPolling.cpuPerEvent) : '',
      'p99 vs Socket.IO polling': vsPolling ? ratio(s.p99, sioPolling.p99) : '',
    };
  });
}

export const TRANSPORTS_TITLE = `Transports: ${CLIENTS.toLocaleString('en-US')} clients on news, ${EVENTS} events at ${RATE}/s, each transport beside Switchboard's WebSocket and Socket.IO 4's polling (bytes server → clients on the wire; median of ${ROUNDS} interleaved rounds)`;

if (import.meta.url === `file://${process.argv[1]}`) printTable(TRANSPORTS_TITLE, await transportRows());
